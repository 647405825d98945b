// Merging a LoRA adapter into its base (whet merge) against the two things it
// must agree with: W + scale·B·A computed here in double, and the same adapter
// applied unmerged, before and after a round trip through a Hugging Face directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "models/llama_export.h"
#include "models/lora_merge.h"
#include "models/lora_peft.h"
#include "models/reference_logits.h"
#include "test_support.h"

namespace whet {
namespace {

const char* kVariants[] = {"gqa_tied", "untied_llama3"};

std::string variant_dir(const std::string& variant) { return test::testdata_path("tiny/" + variant); }

LlamaLora load_test_adapter(const std::string& variant, const LlamaConfig& config) {
  return load_peft_adapter(variant_dir(variant) + "/gradients/lora", config);
}

std::vector<float> decoded(const Weight& w) {
  std::vector<float> out(size_t(w.numel()));
  for (int64_t r = 0; r < w.rows; ++r) weight_row_f32(w, r, out.data() + r * w.cols);
  return out;
}

// Logits at every position of one sequence, in a single prefill.
std::vector<float> sequence_logits(const LlamaModel& model, const std::vector<int32_t>& seq, const LlamaLora* lora) {
  KvCache cache(model.config, int64_t(seq.size()));
  std::vector<float> logits;
  llama_forward(model, cache, seq, logits, /*all_logits=*/true, lora);
  return logits;
}

// max |got - (w + scale·B·A)| / max |w + scale·B·A|, the sum formed in double with plain loops.
double relative_merge_error(const std::vector<float>& w, const std::vector<float>& got, const LoraMatrices& m,
                            const LoraConfig& config) {
  const int64_t rank = config.rank, cols = int64_t(m.a.size()) / rank, rows = int64_t(m.b.size()) / rank;
  const double scale = double(config.alpha) / double(rank);
  double max_expected = 0.0, max_err = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      double delta = 0.0;
      for (int64_t k = 0; k < rank; ++k) delta += double(m.b[r * rank + k]) * double(m.a[k * cols + c]);
      const double expected = double(w[r * cols + c]) + scale * delta;
      max_expected = std::max(max_expected, std::abs(expected));
      max_err = std::max(max_err, std::abs(double(got[r * cols + c]) - expected));
    }
  }
  return max_err / max_expected;
}

// `merged` starts as a copy of `base` sharing its storage (the mapped fp32 file,
// or memory owned after converting fp16), so a merge that wrote through shared
// storage would change `base` too and miss the expected sum.
TEST(LoraMerge, MergedWeightsAreBasePlusScaledProduct) {
  for (const char* variant : kVariants) {
    for (const char* file : {"/hf", "/model-f16.gguf"}) {
      SCOPED_TRACE(testing::Message() << variant << file);
      LoadedModel base = load_model(variant_dir(variant) + file, WeightFormat::F32);
      const LlamaLora lora = load_test_adapter(variant, base.model.config);
      ASSERT_FALSE(lora.config.rslora);
      LlamaModel merged = base.model;
      merge_lora(merged, lora);
      int adapted = 0;
      for (int layer = 0; layer < base.model.config.num_layers; ++layer) {
        for (int p = 0; p < kProjections; ++p) {
          SCOPED_TRACE(testing::Message() << "layer " << layer << ", " << kProjectionNames[p]);
          const std::vector<float> w = decoded(projection_weight(base.model.weights.layers[layer], Projection(p)));
          const std::vector<float> got = decoded(projection_weight(merged.weights.layers[layer], Projection(p)));
          const LoraMatrices& m = lora.layers[layer][p];
          if (m.empty()) {
            EXPECT_EQ(got, w) << "a projection without an adapter changed";
            continue;
          }
          ++adapted;
          EXPECT_LE(relative_merge_error(w, got, m, lora.config), 1e-6);
        }
      }
      EXPECT_EQ(adapted, 4 * base.model.config.num_layers) << "the test adapter targets q, v, gate and down";
    }
  }
}

// Also from an fp16 GGUF held natively, so merging has to decode the base first.
TEST(LoraMerge, MergedLogitsEqualUnmergedAdapter) {
  for (const char* variant : kVariants) {
    for (auto [file, format] : {std::pair{"/hf", WeightFormat::F32}, {"/model-f16.gguf", WeightFormat::Native}}) {
      SCOPED_TRACE(testing::Message() << variant << file);
      const LoadedModel base = load_model(variant_dir(variant) + file, format);
      const LlamaLora lora = load_test_adapter(variant, base.model.config);
      LlamaModel merged = base.model;
      merge_lora(merged, lora);
      for (const std::vector<int32_t>& seq : test::read_reference(variant_dir(variant)).sequences) {
        const std::vector<float> unmerged = sequence_logits(base.model, seq, &lora);
        const std::vector<float> plain = sequence_logits(base.model, seq, nullptr);
        EXPECT_GT(test::max_abs_diff(unmerged.data(), plain.data(), plain.size()), 1e-2f)
            << "the adapter barely changes the logits, so agreement would prove nothing";
        const std::vector<float> got = sequence_logits(merged, seq, nullptr);
        EXPECT_LE(test::max_abs_diff(got.data(), unmerged.data(), got.size()), 1e-4f) << seq.size() << " tokens";
      }
    }
  }
}

TEST(LoraMerge, ExportedMergedModelKeepsTheLogits) {
  for (const char* variant : kVariants) {
    SCOPED_TRACE(variant);
    LoadedModel loaded = load_model(variant_dir(variant) + "/hf", WeightFormat::F32);
    const LlamaLora lora = load_test_adapter(variant, loaded.model.config);
    const LlamaModel base = loaded.model;
    merge_lora(loaded.model, lora);
    const std::string out = test::scratch_dir(std::string("lora_merge_export_") + variant);
    export_hf_dir(loaded, out, DType::F32);
    const LoadedModel reloaded = load_model(out);
    for (const std::vector<int32_t>& seq : test::read_reference(variant_dir(variant)).sequences) {
      const std::vector<float> want = sequence_logits(base, seq, &lora);
      const std::vector<float> got = sequence_logits(reloaded.model, seq, nullptr);
      EXPECT_LE(test::max_abs_diff(got.data(), want.data(), got.size()), 1e-4f) << seq.size() << " tokens";
    }
  }
}

}  // namespace
}  // namespace whet
