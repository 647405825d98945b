// Gradients of the training backward pass against PyTorch autograd
// (tests/python/make_gradient_references.py) on the tiny models: every base
// weight for full fine-tuning, only the trainable ones when layers are frozen,
// and the A and B matrices of a PEFT LoRA adapter over a frozen base.
//
// The bar is the issue's: relative error at most 1e-4 for every trainable
// tensor, as max|whet - torch| / max|torch| (the reference runs in float64;
// Whet in float32, whose summation error on these sizes is about 1e-6).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "kernels/quant.h"
#include "io/safetensors.h"
#include "kernels/random_tensors.h"
#include "models/llama_block.h"
#include "models/llama_train.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "gradient_checks.h"
#include "test_support.h"

namespace whet {
namespace {

using test::expect_close;
using test::expect_lora_grads;

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
    if (name == "token_embd.weight" || name == "position_embd.weight") return false;
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
    const TensorView* ref = want.find_tensor(hf_tensor_name(name, loaded.model.config));
    ASSERT_NE(ref, nullptr) << name;
    ++checked;
    // Without rope, a key bias adds q·b to every score of a query alike, which softmax ignores.
    if (loaded.model.config.learned_positions && name.ends_with("attn_k.bias")) {
      const std::string weight = name.substr(0, name.size() - 4) + "weight";
      const TensorView* beside = want.find_tensor(hf_tensor_name(weight, loaded.model.config));
      ASSERT_NE(beside, nullptr) << weight;
      std::vector<float> values(size_t(beside->numel()));
      dequantize(beside->dtype, beside->data, values.data(), beside->numel());
      float scale = 0.0f;
      for (float v : values) scale = std::max(scale, std::abs(v));
      return test::expect_vanishing(name, grad_data(g), g.numel(), scale);
    }
    expect_close(name, grad_data(g), *ref);
  });
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaGradients,
                         testing::Values(GradientCase{"gqa_tied", -1}, GradientCase{"untied_llama3", -1},
                                         GradientCase{"mha_linear_sharded", -1}, GradientCase{"gqa_tied", 1},
                                         GradientCase{"untied_llama3", 1}, GradientCase{"qwen2_bias", -1},
                                         GradientCase{"mistral_window", -1}, GradientCase{"gemma3_sandwich", -1},
                                         GradientCase{"gemma3_sandwich", 3}, GradientCase{"phi3_longrope", -1},
                                         GradientCase{"phi3_longrope", 1}, GradientCase{"gpt2_tiny", -1},
                                         GradientCase{"gpt2_tiny", 1}, GradientCase{"gemma3_softcap", -1},
                                         GradientCase{"gemma3_softcap", 3}),
                         [](const testing::TestParamInfo<GradientCase>& info) {
                           return info.param.variant +
                                  (info.param.frozen_blocks < 0 ? "_full" : "_frozen" + std::to_string(info.param.frozen_blocks));
                         });

void PrintTo(const GradientCase& c, std::ostream* os) { *os << c.variant << " frozen " << c.frozen_blocks; }

// The loss of the sequence in `references` (make_gradient_references.py) through
// `loaded` with the PEFT adapter PyTorch wrote there, and into lora_grads the
// adapter's gradients of the mean loss per target.
CrossEntropyResult adapter_forward_backward(const LoadedModel& loaded, const std::string& references,
                                            LlamaLora& lora_grads, bool bf16_products = false) {
  const PackedSequence seq = read_sequence(references);
  LlamaLora lora = load_peft_adapter(references + "/lora", loaded.model.config);
  lora_grads = zeros_like(lora);
  LlamaActivations acts(loaded.model.config, int64_t(seq.ids.size()), lora.config.rank);
  TrainPass pass;
  pass.lora = &lora;
  pass.lora_grads = &lora_grads;
  pass.bf16_products = bf16_products;
  return llama_forward_backward(loaded.model, pass, acts, seq.view(), 1.0f / float(seq.target_count()));
}

// The adapter PyTorch wrote in PEFT's layout, over a frozen base held as fp32 or
// as the fp16 GGUF decoded on use (the same values): A and B gradients match.
// Phi-3's adapter is on its fused modules; each part's gradients are those of
// the whole A and its rows of B as that part applies them. GPT-2's is on all
// four of its Conv1D modules, c_attn's parts (q, k, v) taken apart the same way,
// so every projection Whet adapts on GPT-2 is checked.
TEST(LoraGradients, MatchAutogradOverAnyBase) {
  // Adapted projections per layer: q, v, gate and down; Phi-3's fused modules hold
  // six; GPT-2 has every one but a gate.
  const std::map<std::string, int> adapted = {{"gqa_tied", 4},       {"untied_llama3", 4},   {"qwen2_bias", 4},
                                              {"mistral_window", 4}, {"gemma3_sandwich", 4}, {"phi3_longrope", 6},
                                              {"gpt2_tiny", 6},      {"gemma3_softcap", 4}};
  for (const auto& [variant, projections] : adapted) {
    for (const char* base : {"hf", "model-f16.gguf"}) {
      SCOPED_TRACE(variant + " " + base);
      const std::string dir = test::testdata_path("tiny/" + variant);
      const LoadedModel loaded = load_model(dir + "/" + base);
      LlamaLora lora_grads;
      const CrossEntropyResult r = adapter_forward_backward(loaded, dir + "/gradients", lora_grads);
      const double want_loss = nlohmann::json::parse(std::ifstream(dir + "/gradients/lora.json")).at("loss");
      EXPECT_NEAR(r.loss_sum / double(r.targets), want_loss, 1e-5);
      expect_lora_grads(lora_grads, dir + "/gradients/lora_grads.safetensors", loaded.model.config.num_layers,
                        projections);
    }
  }
}

// A base held as bf16 trains on weights rounded to 8 significant bits (and,
// where the CPU has bf16 units, on the activations entering each projection
// rounded too, attention and the adapter's long products in bf16 as supervised
// runs do): its LoRA gradients, over every A and B, stay within 3% in relative
// L2 of the fp32 base's, which MatchAutogradOverAnyBase holds to autograd
// (measured on a Xeon with AMX: 1.4-1.9%), and the loss within 1%. A wiring
// error moves them by whole units.
TEST(LoraGradients, Bf16BaseStaysNearTheFp32Gradients) {
  for (const char* variant : {"gqa_tied", "mistral_window", "gemma3_softcap"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    std::vector<float> grads[2];
    double loss[2];
    for (int held_as_bf16 = 0; held_as_bf16 < 2; ++held_as_bf16) {
      const LoadedModel loaded = load_model(dir + "/hf", held_as_bf16 ? WeightFormat::BF16 : WeightFormat::F32);
      LlamaLora lora_grads;
      // As supervised training runs it: attention and the adapter's products in bf16 too, where the CPU can.
      const CrossEntropyResult r = adapter_forward_backward(loaded, dir + "/gradients", lora_grads, held_as_bf16);
      loss[held_as_bf16] = r.loss_sum / double(r.targets);
      for_each_lora_tensor(lora_grads, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) {
        grads[held_as_bf16].insert(grads[held_as_bf16].end(), g.begin(), g.end());
      });
    }
    ASSERT_TRUE(std::any_of(grads[0].begin(), grads[0].end(), [](float g) { return g != 0.0f; }));
    const double diff = test::relative_l2(grads[1], grads[0]);
    testing::Test::RecordProperty(std::string(variant) + "_relative_l2", testing::PrintToString(diff));
    EXPECT_LT(diff, 0.03);
    EXPECT_NEAR(loss[1], loss[0], 0.01 * loss[0]);
  }
}

// Distillation from the base (the adapter off) into the base plus the adapter
// PyTorch wrote: with the cross-entropy's scale 0, the gradients are those of
// the mean T²·KL over the targets alone (make_distill_references.py).
TEST(LoraGradients, DistillationMatchesAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    WHET_REQUIRE_FILE(dir + "/gradients/distill.json", "tests/python/make_references.sh");
    const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
    const PackedSequence seq = read_sequence(dir + "/gradients");
    const nlohmann::json want_json = nlohmann::json::parse(std::ifstream(dir + "/gradients/distill.json"));
    LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
    LlamaLora lora_grads = zeros_like(lora);
    LlamaActivations acts(loaded.model.config, int64_t(seq.ids.size()), lora.config.rank);
    TrainPass pass;
    pass.lora = &lora;
    pass.lora_grads = &lora_grads;
    pass.distill_temperature = want_json.at("temperature").get<float>();
    pass.distill_grad_scale = 1.0f / float(seq.target_count());
    const CrossEntropyResult r = llama_forward_backward(loaded.model, pass, acts, seq.view(), 0.0f);
    const double want_loss = want_json.at("loss");
    ASSERT_GT(want_loss, 1e-3);  // the adapter moves the model enough for the test to mean something
    EXPECT_NEAR(r.distill_sum / double(r.targets), want_loss, 1e-5 * want_loss);
    expect_lora_grads(lora_grads, dir + "/gradients/distill_grads.safetensors", loaded.model.config.num_layers);
  }
}

// A new adapter (B = 0) leaves the model equal to its base, so distillation
// from the base costs nothing and pulls nowhere: loss and gradients exactly 0,
// even with dropout on the adapter's input.
TEST(LoraGradients, DistillationIsZeroForANewAdapter) {
  const std::string dir = test::testdata_path("tiny/gqa_tied");
  const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
  const PackedSequence seq = read_sequence(dir + "/gradients");
  LoraConfig config;
  config.rank = 4;
  config.targets = {Projection::Q, Projection::K, Projection::V, Projection::O, Projection::Gate, Projection::Up,
                    Projection::Down};
  LlamaLora lora = make_lora(loaded.model.config, config, 7);
  LlamaLora lora_grads = zeros_like(lora);
  LlamaActivations acts(loaded.model.config, int64_t(seq.ids.size()), lora.config.rank);
  TrainPass pass;
  pass.lora = &lora;
  pass.lora_grads = &lora_grads;
  pass.lora_dropout = 0.1f;
  pass.dropout_seed = 3;
  pass.distill_temperature = 2.0f;
  pass.distill_grad_scale = 1.0f;
  const CrossEntropyResult r = llama_forward_backward(loaded.model, pass, acts, seq.view(), 0.0f);
  EXPECT_EQ(r.targets, seq.target_count());
  EXPECT_GT(r.loss_sum, 0.0);
  EXPECT_EQ(r.distill_sum, 0.0);
  float largest = 0.0f;
  for_each_lora_tensor(lora_grads, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) {
    for (float x : g) largest = std::max(largest, std::abs(x));
  });
  EXPECT_EQ(largest, 0.0f);
}

// A sequence-classification head on one example, by last-token and by mean
// pooling: the loss, the head's own gradients and the gradients it sends back
// into every base weight (full fine-tuning through the head) match autograd.
TEST(ClassifierHeadGradients, MatchAutogradThroughTheModel) {
  for (const char* variant : {"gqa_tied", "untied_llama3", "mha_linear_sharded"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
    const nlohmann::json example = nlohmann::json::parse(std::ifstream(dir + "/gradients/classifier/example.json"));
    const std::vector<int32_t> ids = example.at("ids").get<std::vector<int32_t>>();
    const int labels = example.at("labels").get<int>();
    const SafetensorsFile head = SafetensorsFile::open(dir + "/gradients/classifier/head.safetensors");
    auto values = [](const TensorView& t) {
      std::vector<float> v(t.numel());
      dequantize(t.dtype, t.data, v.data(), t.numel());
      return v;
    };
    const std::vector<float> weight = values(*head.find_tensor("weight")), bias = values(*head.find_tensor("bias"));
    for (Pooling pooling : {Pooling::Last, Pooling::Mean}) {
      const std::string name(pooling_name(pooling));
      SCOPED_TRACE(std::string(variant) + " " + name);
      LlamaWeights grads = make_gradients(loaded.model, [](const std::string&) { return true; });
      std::vector<float> dweight(weight.size(), 0.0f), dbias(bias.size(), 0.0f);
      LlamaActivations acts(loaded.model.config, int64_t(ids.size()), 0);
      TrainPass pass;
      pass.grads = &grads;
      ClassifierPass classifier{weight.data(), bias.data(), labels, pooling, dweight.data(), dbias.data(),
                                example.at("label").get<int32_t>()};
      const ClassifierHeadResult r = llama_classify(loaded.model, pass, acts, ids, classifier, 1.0f);
      EXPECT_NEAR(r.loss, example.at("loss").at(name).get<double>(), 1e-5);
      ASSERT_EQ(r.probabilities.size(), size_t(labels));
      EXPECT_NEAR(-std::log(r.probabilities[size_t(classifier.label)]), r.loss, 1e-5);

      const SafetensorsFile want = SafetensorsFile::open(dir + "/gradients/classifier/" + name + ".safetensors");
      expect_close("classifier.weight", dweight.data(), *want.find_tensor("classifier.weight"));
      expect_close("classifier.bias", dbias.data(), *want.find_tensor("classifier.bias"));
      EXPECT_GE(test::expect_base_grads(grads, loaded.model.config, want), 2 + 9 * loaded.model.config.num_layers)
          << "embeddings, norms and every block weight";

      // Prediction only: the same probabilities, and nothing is written.
      classifier.label = -1;
      std::fill(dweight.begin(), dweight.end(), 0.0f);
      const ClassifierHeadResult predicted = llama_classify(loaded.model, TrainPass{}, acts, ids, classifier, 1.0f);
      for (int l = 0; l < labels; ++l) EXPECT_NEAR(predicted.probabilities[size_t(l)], r.probabilities[size_t(l)], 1e-6);
      EXPECT_TRUE(std::all_of(dweight.begin(), dweight.end(), [](float v) { return v == 0.0f; }));
    }
  }
}

}  // namespace
}  // namespace whet
