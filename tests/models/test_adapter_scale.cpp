// --adapter-scale α: LoraConfig::strength multiplies an adapter's update at use
// time. α = 0 must answer as the base model bit for bit, α = 1 as the adapter
// did before the multiplier existed, and a merge must write base + α·update.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/llama_export.h"
#include "models/lora_merge.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

std::string tiny(const std::string& variant) { return test::testdata_path("tiny/" + variant); }

// Logits of every position: a whole sequence at once (a matrix product per
// projection) and then its tokens one at a time (the decode path's small products).
std::vector<float> logits_both_ways(const LlamaModel& model, const LlamaLora* lora, const test::Reference& ref) {
  std::vector<float> out, logits;
  for (const std::vector<int32_t>& seq : ref.sequences) {
    KvCache whole(model.config, int64_t(seq.size()));
    llama_forward(model, whole, seq, logits, /*all_logits=*/true, lora);
    out.insert(out.end(), logits.begin(), logits.end());
    KvCache step(model.config, int64_t(seq.size()));
    for (int32_t token : seq) {
      llama_forward(model, step, std::span<const int32_t>(&token, 1), logits, false, lora);
      out.insert(out.end(), logits.begin(), logits.end());
    }
  }
  return out;
}

LlamaLora adapter_at(const std::string& variant, const LlamaConfig& config, float strength) {
  LlamaLora lora = load_peft_adapter(tiny(variant) + "/gradients/lora", config);
  lora.config.strength = strength;
  return lora;
}

TEST(AdapterScale, ZeroIsTheBaseBitForBitAndOneIsTheAdapter) {
  for (const std::string variant : {"gqa_tied", "untied_llama3"}) {
    for (const std::string file : {"/hf", "/model-f32.gguf"}) {
      SCOPED_TRACE(variant + file);
      const LoadedModel base = load_model(tiny(variant) + file);
      const test::Reference ref = test::read_reference(tiny(variant));
      const std::vector<float> plain = logits_both_ways(base.model, nullptr, ref);
      const LlamaLora off = adapter_at(variant, base.model.config, 0.0f);
      EXPECT_EQ(logits_both_ways(base.model, &off, ref), plain);

      const LlamaLora as_loaded = load_peft_adapter(tiny(variant) + "/gradients/lora", base.model.config);
      const LlamaLora one = adapter_at(variant, base.model.config, 1.0f);
      const std::vector<float> adapted = logits_both_ways(base.model, &as_loaded, ref);
      EXPECT_EQ(logits_both_ways(base.model, &one, ref), adapted);
      EXPECT_NE(adapted, plain);
      const LlamaLora half = adapter_at(variant, base.model.config, 0.5f);
      const std::vector<float> halfway = logits_both_ways(base.model, &half, ref);
      EXPECT_NE(halfway, plain);
      EXPECT_NE(halfway, adapted);
    }
  }
}

// W + α·s·B·A, matrix by matrix: α = 0 leaves every weight as the base's, and
// the update at α = 0.5 is half the update at α = 1.
TEST(AdapterScale, MergeWritesBasePlusScaledUpdate) {
  const LoadedModel base = load_model(tiny("gqa_tied") + "/hf");
  auto merged_at = [&](float strength) {
    LlamaModel model = base.model;
    merge_lora(model, adapter_at("gqa_tied", base.model.config, strength));
    return model;
  };
  const LlamaModel zero = merged_at(0.0f), half = merged_at(0.5f), one = merged_at(1.0f);
  size_t adapted = 0;
  for (size_t layer = 0; layer < base.model.weights.layers.size(); ++layer) {
    for (int p = 0; p < kProjections; ++p) {
      const Weight& w = projection_weight(base.model.weights.layers[layer], Projection(p));
      auto rows = [&](const LlamaModel& m) {
        std::vector<float> out(size_t(w.numel()));
        const Weight& mw = projection_weight(m.weights.layers[layer], Projection(p));
        for (int64_t r = 0; r < w.rows; ++r) weight_row_f32(mw, r, out.data() + r * w.cols);
        return out;
      };
      const std::vector<float> wb = rows(base.model), wz = rows(zero), wh = rows(half), wo = rows(one);
      EXPECT_EQ(wz, wb) << "layer " << layer << " projection " << p;
      if (wo == wb) continue;
      ++adapted;
      for (size_t i = 0; i < wb.size(); ++i)
        ASSERT_NEAR(wh[i] - wb[i], 0.5f * (wo[i] - wb[i]), 1e-6f) << "layer " << layer << " projection " << p;
    }
  }
  EXPECT_GT(adapted, 0u);
}

}  // namespace
}  // namespace whet
