// Gradients of the training backward pass against PyTorch autograd
// (tests/python/make_gradient_references.py) on the tiny models: every base
// weight for full fine-tuning, only the trainable ones when layers are frozen,
// and the A and B matrices of a PEFT LoRA adapter over a frozen base.
//
// The bar is the issue's: relative error at most 1e-4 for every trainable
// tensor, as max|whet - torch| / max|torch| (the reference runs in float64;
// Whet in float32, whose summation error on these sizes is about 1e-6).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/quant.h"
#include "io/safetensors.h"
#include "models/llama_block.h"
#include "models/llama_train.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"

namespace whet {
namespace {

constexpr float kRelativeTolerance = 1e-4f;

struct PackedSequence {
  std::vector<int32_t> ids, targets, positions, segment_begin;
  double loss = 0.0;
  TokenSequence view() const { return {ids, targets, positions, segment_begin}; }
  int64_t target_count() const { return std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; }); }
};

PackedSequence read_sequence(const std::string& dir) {
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/sequence.json"));
  return {j.at("ids").get<std::vector<int32_t>>(), j.at("targets").get<std::vector<int32_t>>(),
          j.at("positions").get<std::vector<int32_t>>(), j.at("segment_begin").get<std::vector<int32_t>>(),
          j.at("loss").get<double>()};
}

void expect_close(const std::string& name, const float* got, const TensorView& want) {
  std::vector<float> ref(want.numel());
  dequantize(want.dtype, want.data, ref.data(), want.numel());
  float max_ref = 0.0f, max_err = 0.0f;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(ref[i]));
    max_err = std::max(max_err, std::abs(got[i] - ref[i]));
  }
  ASSERT_GT(max_ref, 0.0f) << name << ": the reference gradient is zero, so the test would prove nothing";
  EXPECT_LE(max_err / max_ref, kRelativeTolerance) << name << " (max |grad| " << max_ref << ")";
}

struct GradientCase {
  std::string variant;
  int frozen_blocks;  // -1: full fine-tuning; N: embeddings and the first N blocks frozen
};

class LlamaGradients : public testing::TestWithParam<GradientCase> {};

TEST_P(LlamaGradients, MatchAutograd) {
  const GradientCase& c = GetParam();
  const std::string dir = test::testdata_path("tiny/" + c.variant);
  const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
  const PackedSequence seq = read_sequence(dir + "/gradients");
  auto trainable = [&](const std::string& name) {
    if (c.frozen_blocks < 0) return true;
    if (name == "token_embd.weight") return false;
    int block = -1;
    return std::sscanf(name.c_str(), "blk.%d.", &block) != 1 || block >= c.frozen_blocks;
  };
  LlamaWeights grads = make_gradients(loaded.model, trainable);
  LlamaActivations acts(loaded.model.config, int64_t(seq.ids.size()), 0);
  TrainPass pass;
  pass.grads = &grads;
  const CrossEntropyResult r =
      llama_forward_backward(loaded.model, pass, acts, seq.view(), 1.0f / float(seq.target_count()));
  EXPECT_EQ(r.targets, seq.target_count());
  EXPECT_NEAR(r.loss_sum / double(r.targets), seq.loss, 1e-5);

  const SafetensorsFile want = SafetensorsFile::open(dir + "/gradients/full.safetensors");
  int checked = 0;
  for_each_weight(grads, loaded.model.config, [&](const std::string& name, const Weight& g) {
    EXPECT_EQ(g.data != nullptr, trainable(name)) << name;
    if (!g.data) return;
    const TensorView* ref = want.find_tensor(hf_tensor_name(name));
    ASSERT_NE(ref, nullptr) << name;
    expect_close(name, grad_data(g), *ref);
    ++checked;
  });
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaGradients,
                         testing::Values(GradientCase{"gqa_tied", -1}, GradientCase{"untied_llama3", -1},
                                         GradientCase{"mha_linear_sharded", -1}, GradientCase{"gqa_tied", 1},
                                         GradientCase{"untied_llama3", 1}),
                         [](const testing::TestParamInfo<GradientCase>& info) {
                           return info.param.variant +
                                  (info.param.frozen_blocks < 0 ? "_full" : "_frozen" + std::to_string(info.param.frozen_blocks));
                         });

void PrintTo(const GradientCase& c, std::ostream* os) { *os << c.variant << " frozen " << c.frozen_blocks; }

// The adapter PyTorch wrote in PEFT's layout, over a frozen base held as fp32 or
// as the fp16 GGUF decoded on use (the same values): A and B gradients match.
TEST(LoraGradients, MatchAutogradOverAnyBase) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    for (const char* base : {"hf", "model-f16.gguf"}) {
      SCOPED_TRACE(std::string(variant) + " " + base);
      const std::string dir = test::testdata_path(std::string("tiny/") + variant);
      const LoadedModel loaded = load_model(dir + "/" + base);
      const PackedSequence seq = read_sequence(dir + "/gradients");
      LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
      LlamaLora lora_grads = zeros_like(lora);
      LlamaActivations acts(loaded.model.config, int64_t(seq.ids.size()), lora.config.rank);
      TrainPass pass;
      pass.lora = &lora;
      pass.lora_grads = &lora_grads;
      const CrossEntropyResult r =
          llama_forward_backward(loaded.model, pass, acts, seq.view(), 1.0f / float(seq.target_count()));
      const double want_loss = nlohmann::json::parse(std::ifstream(dir + "/gradients/lora.json")).at("loss");
      EXPECT_NEAR(r.loss_sum / double(r.targets), want_loss, 1e-5);
      const SafetensorsFile want = SafetensorsFile::open(dir + "/gradients/lora_grads.safetensors");
      int checked = 0;
      for_each_lora_tensor(lora_grads, [&](const std::string& name, std::vector<float>& g, int64_t, int64_t) {
        const TensorView* ref = want.find_tensor(name);
        ASSERT_NE(ref, nullptr) << name;
        expect_close(name, g.data(), *ref);
        ++checked;
      });
      EXPECT_EQ(checked, 2 * 4 * loaded.model.config.num_layers);
    }
  }
}

}  // namespace
}  // namespace whet
