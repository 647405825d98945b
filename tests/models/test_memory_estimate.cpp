// The parameter count behind `whet info` and the memory estimates against the
// tensors a loaded model actually has, on every tiny family: a tensor the count
// forgets (a bias, a LayerNorm's bias, GPT-2's position embedding) shows here.
#include <gtest/gtest.h>

#include "models/memory_estimate.h"
#include "models/model_loader.h"
#include "test_support.h"

namespace whet {
namespace {

TEST(MemoryEstimate, ParameterCountIsTheModelsTensors) {
  for (const char* variant : {"gqa_tied", "untied_llama3", "qwen2_bias", "gemma3_sandwich", "phi3_longrope",
                              "gpt2_tiny"}) {
    SCOPED_TRACE(variant);
    const LoadedModel loaded = load_model(test::testdata_path(std::string("tiny/") + variant + "/model-f32.gguf"));
    int64_t counted = 0;
    for_each_weight(loaded.model.weights, loaded.model.config,
                    [&](const std::string&, const Weight& w) { counted += w.numel(); });
    EXPECT_EQ(llama_parameter_count(loaded.model.config), counted);
  }
}

// Training keeps less without a gate: GPT-2's activations per layer are those of
// a gated MLP less one intermediate-wide buffer per token, and so is the
// backward's gradient scratch; of the bf16 roundings a block keeps, only q/k/v's
// input (a gated block also rounds gate/up's, the activation and its two gradients).
TEST(MemoryEstimate, UngatedMlpKeepsNoGate) {
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gpt2_tiny/model-f32.gguf"));
  LlamaConfig gated = loaded.model.config;
  gated.gated_mlp = true;
  const int64_t seq = 100;
  const int64_t saved = estimate_full_training(gated, seq).activation_bytes -
                        estimate_full_training(loaded.model.config, seq).activation_bytes;
  const int64_t rounded_saved = 2 * seq * (int64_t(gated.hidden_size) + 3 * int64_t(gated.intermediate_size));
  EXPECT_EQ(saved, 4 * seq * int64_t(gated.intermediate_size) * (gated.num_layers + 1) + rounded_saved);
}

}  // namespace
}  // namespace whet
