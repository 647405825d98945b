// The server's prefix cache: a prompt starting like a stored one goes on from
// its copied positions as if it had run whole; what is stored is bounded,
// adapter by adapter, least recently used out first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "serve/prompt_prefix_cache.h"
#include "test_support.h"

namespace whet::serve {
namespace {

const LoadedModel& tiny_model() {
  static const LoadedModel m = load_model(test::testdata_path("tiny/gqa_tied") + "/hf", WeightFormat::F32);
  return m;
}

std::vector<int32_t> tokens(std::initializer_list<int32_t> values) { return values; }

// A cache of `prompt` run whole.
KvCache run_whole(std::span<const int32_t> prompt, std::vector<float>& logits, DType dtype = DType::F16) {
  KvCache cache(tiny_model().model.config, int64_t(prompt.size()) + 4, dtype);
  llama_forward(tiny_model().model, cache, prompt, logits);
  return cache;
}

double relative_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, double(std::abs(got[i] - want[i])));
    scale = std::max(scale, double(std::abs(want[i])));
  }
  return diff / scale;
}

TEST(PromptPrefixCache, APromptStartingLikeAStoredOneGoesOnAsIfRunWhole) {
  const LlamaConfig& c = tiny_model().model.config;
  for (DType dtype : {DType::F16, DType::F32}) {
    SCOPED_TRACE(dtype_name(dtype));
    PromptPrefixCache store(c, 1024, dtype);
    std::vector<float> logits, want, got;
    const std::vector<int32_t> first = tokens({5, 6, 7, 8, 9, 10}), second = tokens({5, 6, 7, 8, 20, 21, 22});
    store.keep(first, nullptr, run_whole(first, logits, dtype));
    KvCache cache(c, 16, dtype);
    ASSERT_EQ(store.reuse(second, nullptr, cache), 4);
    EXPECT_EQ(cache.length, 4);
    llama_forward(tiny_model().model, cache, std::span(second).subspan(4), got);
    run_whole(second, want, dtype);
    // Positions computed among other rows differ from a whole run in summation
    // order only, and in f16 by the rounding steps that this moves (2.2e-5 measured).
    EXPECT_LE(relative_diff(got, want), dtype == DType::F16 ? 1e-4 : 1e-5);
  }
}

TEST(PromptPrefixCache, TheLastTokenAlwaysRunsForItsLogits) {
  PromptPrefixCache store(tiny_model().model.config, 1024, DType::F16);
  std::vector<float> logits;
  const std::vector<int32_t> prompt = tokens({5, 6, 7, 8});
  store.keep(prompt, nullptr, run_whole(prompt, logits));
  KvCache cache(tiny_model().model.config, 8, DType::F16);
  EXPECT_EQ(store.reuse(prompt, nullptr, cache), 3);
}

TEST(PromptPrefixCache, AnotherAdapterFindsNothing) {
  const LlamaConfig& c = tiny_model().model.config;
  const auto adapter = std::make_shared<const LlamaLora>(
      load_peft_adapter(test::testdata_path("tiny/gqa_tied") + "/gradients/lora", c));
  PromptPrefixCache store(c, 1024, DType::F16);
  std::vector<float> logits;
  const std::vector<int32_t> prompt = tokens({5, 6, 7, 8});
  store.keep(prompt, nullptr, run_whole(prompt, logits));
  KvCache cache(c, 8, DType::F16);
  EXPECT_EQ(store.reuse(prompt, adapter, cache), 0);
  EXPECT_EQ(cache.length, 0);
}

TEST(PromptPrefixCache, KeepsAtMostItsPositionsDroppingTheLeastRecentlyUsed) {
  const LlamaConfig& c = tiny_model().model.config;
  PromptPrefixCache store(c, 10, DType::F16);
  std::vector<float> logits;
  const std::vector<int32_t> a = tokens({1, 2, 3, 4}), b = tokens({11, 12, 13, 14}), d = tokens({21, 22, 23, 24});
  store.keep(a, nullptr, run_whole(a, logits));
  store.keep(b, nullptr, run_whole(b, logits));
  KvCache probe(c, 8, DType::F16);
  EXPECT_EQ(store.reuse(a, nullptr, probe), 3);  // a is now the more recently used
  store.keep(d, nullptr, run_whole(d, logits));  // 12 positions: b goes
  EXPECT_EQ(store.positions(), 8);
  for (const auto& [prompt, reused] : {std::pair{a, 3}, {b, 0}, {d, 3}}) {
    KvCache cache(c, 8, DType::F16);
    EXPECT_EQ(store.reuse(prompt, nullptr, cache), reused);
  }
  PromptPrefixCache off(c, 0, DType::F16);
  off.keep(a, nullptr, run_whole(a, logits));
  EXPECT_EQ(off.positions(), 0);
}

// A prompt within a stored one adds nothing; one extending a stored one replaces it.
TEST(PromptPrefixCache, StoresEachPrefixOnce) {
  const LlamaConfig& c = tiny_model().model.config;
  PromptPrefixCache store(c, 1024, DType::F16);
  std::vector<float> logits;
  const std::vector<int32_t> turn = tokens({1, 2, 3, 4}), longer = tokens({1, 2, 3, 4, 5, 6});
  store.keep(turn, nullptr, run_whole(turn, logits));
  store.keep(longer, nullptr, run_whole(longer, logits));
  EXPECT_EQ(store.positions(), 6);
  store.keep(turn, nullptr, run_whole(turn, logits));
  EXPECT_EQ(store.positions(), 6);
  KvCache cache(c, 12, DType::F16);
  EXPECT_EQ(store.reuse(tokens({1, 2, 3, 4, 5, 6, 7}), nullptr, cache), 6);
}

}  // namespace
}  // namespace whet::serve
