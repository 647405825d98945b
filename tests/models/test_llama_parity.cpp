// Logits of the Llama forward pass against the independent PyTorch reference
// (tests/python/llama_reference.py), on tiny random models written as Hugging
// Face directories and GGUF files by tests/python/make_tiny_models.py, and on
// the real default model through the float32 directory `whet convert` wrote.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_loader.h"
#include "test_support.h"

namespace whet {
namespace {

struct Reference {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> logits;  // per sequence, (length, vocab)
  int64_t vocab = 0;
};

Reference read_reference(const std::string& dir) {
  Reference r;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/reference.json"));
  r.vocab = j.at("vocab_size").get<int64_t>();
  std::ifstream bin(dir + "/logits.bin", std::ios::binary);
  for (const auto& s : j.at("sequences")) {
    r.sequences.push_back(s.get<std::vector<int32_t>>());
    std::vector<float> l(r.sequences.back().size() * r.vocab);
    bin.read(reinterpret_cast<char*>(l.data()), std::streamsize(l.size() * sizeof(float)));
    r.logits.push_back(std::move(l));
  }
  EXPECT_TRUE(bin) << dir << "/logits.bin is shorter than reference.json says";
  return r;
}

float max_abs_diff(const float* a, const float* b, size_t n) {
  float worst = 0.0f;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// Whole sequences in one prefill (logits for every position), then the same
// sequences one token at a time through the KV cache.
void expect_logits_match(const LoadedModel& loaded, const Reference& ref, float tolerance) {
  ASSERT_EQ(loaded.model.config.vocab_size, ref.vocab);
  std::vector<float> logits;
  for (size_t s = 0; s < ref.sequences.size(); ++s) {
    const std::vector<int32_t>& seq = ref.sequences[s];
    KvCache prefill(loaded.model.config, int64_t(seq.size()));
    llama_forward(loaded.model, prefill, seq, logits, /*all_logits=*/true);
    EXPECT_LE(max_abs_diff(logits.data(), ref.logits[s].data(), logits.size()), tolerance)
        << "prefill of sequence " << s << " (" << seq.size() << " tokens)";

    KvCache decode(loaded.model.config, int64_t(seq.size()));
    float worst = 0.0f;
    for (size_t i = 0; i < seq.size(); ++i) {
      llama_forward(loaded.model, decode, std::span(&seq[i], 1), logits);
      worst = std::max(worst, max_abs_diff(logits.data(), ref.logits[s].data() + i * ref.vocab, ref.vocab));
    }
    EXPECT_LE(worst, tolerance) << "token-by-token decode of sequence " << s;
  }
}

struct TinyCase {
  std::string variant, file;
  WeightFormat weights;
  float tolerance;
};

std::string case_name(const testing::TestParamInfo<TinyCase>& info) {
  std::string file = info.param.file;
  for (char& c : file)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return info.param.variant + "_" + file + "_" + std::string(weight_format_name(info.param.weights));
}

class TinyLlamaParity : public testing::TestWithParam<TinyCase> {};

TEST_P(TinyLlamaParity, LogitsMatchPyTorch) {
  const TinyCase& c = GetParam();
  const std::string dir = test::testdata_path("tiny/" + c.variant);
  const LoadedModel loaded = load_model(dir + "/" + c.file, c.weights);
  expect_logits_match(loaded, read_reference(dir), c.tolerance);
}

// fp32 and decoded-fp16 weights hold exactly the reference's values, so only
// summation order differs: 1e-4 is the bar. bf16 weights round every matrix
// and activation to 8 bits of mantissa, which moves these logits (of order 1-5)
// by a few hundredths; 0.1 still catches any wiring error, which moves them by whole units.
std::vector<TinyCase> tiny_cases() {
  std::vector<TinyCase> cases;
  for (const char* variant : {"gqa_tied", "untied_llama3", "mha_linear_sharded"}) {
    for (const char* file : {"hf", "model-f32.gguf", "model-f16.gguf"}) {
      cases.push_back({variant, file, WeightFormat::Native, 1e-4f});
      cases.push_back({variant, file, WeightFormat::F32, 1e-4f});
    }
    cases.push_back({variant, "hf", WeightFormat::BF16, 0.1f});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Models, TinyLlamaParity, testing::ValuesIn(tiny_cases()), case_name);

// The default model as its Q4_1 GGUF (decoded on use) against PyTorch on the same
// dequantised values in float32. Thirty layers of different summation order
// (oneDNN blocking vs torch) give differences of order 1e-4 on logits of order 10-30.
TEST(RealModelParity, DefaultModelLogitsMatchPyTorch) {
  const std::string dir = test::testdata_path("smollm2-f32");
  if (!std::filesystem::exists(dir + "/reference.json")) GTEST_SKIP() << "default model not fetched";
  expect_logits_match(load_model(test::default_model_path()), read_reference(dir), 2e-3f);
}

}  // namespace
}  // namespace whet
