// Full fine-tuning with weights: bf16 (train/trainable.h): f32 masters that
// the optimiser updates, multiplied as a bf16 copy that the optimiser rounds
// them into (and a checkpoint's load too). And LoRA over a bf16 base, whose
// matrices are laid out once for their input gradients' products.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/random_tensors.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/learner.h"
#include "train/train_step.h"
#include "train/trainable.h"

namespace whet {
namespace {

TrainConfig full_config(const std::string& weights) {
  TrainConfig c;
  c.method = TrainMethod::Full;
  c.weights = weights;
  c.learning_rate = 1e-3;
  c.lr_scheduler = LrScheduler::Constant;
  return c;
}

// One packed sequence of random ids, each position predicting the next.
TrainingSequence random_sequence(int64_t length, int32_t vocab) {
  std::mt19937 rng(5);
  std::vector<int32_t> ids(size_t(length) + 1);
  for (int32_t& id : ids) id = int32_t(rng() % uint32_t(vocab));
  TrainingSequence s;
  s.ids.assign(ids.begin(), ids.end() - 1);
  s.targets.assign(ids.begin() + 1, ids.end());
  s.segment_begin.assign(size_t(length), 0);
  for (int32_t i = 0; i < length; ++i) s.positions.push_back(i);
  return s;
}

LoadedModel trainable_model(const std::string& variant) {
  LoadedModel loaded = load_model(test::testdata_path("tiny/" + variant + "/hf"), WeightFormat::F32);
  own_trainable_weights(loaded);
  return loaded;
}

// Every weight's gradient through a bf16 copy stays within 3% in relative L2 of
// the fp32 masters' gradient, which LlamaGradients holds to autograd (the same
// bound as a LoRA over a bf16 base; a wiring error, such as a copy left stale
// or a weight gradient dropped, moves them by whole units), and the loss within 1%.
TEST(FullBf16Compute, GradientsStayNearTheFp32Ones) {
  for (const char* variant : {"gqa_tied", "untied_llama3", "qwen2_bias", "gemma3_softcap", "gpt2_tiny"}) {
    SCOPED_TRACE(variant);
    std::vector<float> grads[2];
    double loss[2];
    for (int bf16 = 0; bf16 < 2; ++bf16) {
      LoadedModel loaded = trainable_model(variant);
      const TrainableState state = make_trainable(loaded, full_config(bf16 ? "bf16" : "f32"), 0, nullptr);
      ASSERT_EQ(state.compute != nullptr, bf16 == 1);
      const TrainingSequence s = random_sequence(24, int32_t(loaded.model.config.vocab_size));
      LlamaActivations acts(loaded.model.config, 24, 0);
      const CrossEntropyResult r =
          llama_forward_backward(compute_model(state, loaded.model), state.pass(), acts, view(s), 1.0f / 24);
      loss[bf16] = r.loss_sum / double(r.targets);
      for (const Parameter& p : state.parameters) grads[bf16].insert(grads[bf16].end(), p.grad, p.grad + p.numel);
    }
    ASSERT_EQ(grads[0].size(), grads[1].size());
    ASSERT_TRUE(std::any_of(grads[0].begin(), grads[0].end(), [](float g) { return g != 0.0f; }));
    EXPECT_LT(test::relative_l2(grads[1], grads[0]), 0.03);
    EXPECT_NEAR(loss[1], loss[0], 0.01 * loss[0]);
  }
}

// Every weight as the forward reads it from the copy is its own master rounded
// (each copy paired with the right master, tied head included); returns how many are bf16.
size_t expect_copy_is_masters_rounded(const LlamaModel& masters, const LlamaModel& copy) {
  std::vector<const Weight*> master_weights;
  for_each_weight(masters.weights, masters.config,
                  [&](const std::string&, const Weight& w) { master_weights.push_back(&w); });
  size_t k = 0, rounded = 0;
  for_each_weight(copy.weights, masters.config, [&](const std::string& name, const Weight& w) {
    const Weight& master = *master_weights[k++];
    if (w.dtype != DType::BF16) return;
    ++rounded;
    const auto* bits = reinterpret_cast<const uint16_t*>(w.data);
    const auto* value = reinterpret_cast<const float*>(master.data);
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(bits[i], f32_to_bf16(value[i])) << name << " " << i;
  });
  return rounded;
}

size_t parameters_with_copies(const TrainableState& state) {
  return size_t(std::count_if(state.parameters.begin(), state.parameters.end(),
                              [](const Parameter& p) { return p.bf16_copy != nullptr; }));
}

// The optimiser moves the f32 masters by steps finer than bf16 resolves, and
// each step multiplies them as they stood when it began, rounded.
TEST(FullBf16Compute, StepsUpdateTheF32MastersAndTheCopyFollows) {
  LoadedModel loaded = trainable_model("gqa_tied");
  const TrainConfig config = full_config("bf16");
  Learner learner = make_learner(loaded, config, 0);
  const TrainableState& state = learner.trainable;
  const auto first = std::find_if(state.parameters.begin(), state.parameters.end(),
                                  [](const Parameter& p) { return p.bf16_copy != nullptr; });
  ASSERT_NE(first, state.parameters.end());
  const TrainingSequence s = random_sequence(32, int32_t(loaded.model.config.vocab_size));
  const TrainingSequence* const batch[] = {&s};
  LlamaActivations acts(loaded.model.config, 32, 0);
  const StepSettings settings = step_settings(config, 3);
  std::vector<double> losses;
  for (int64_t step = 0; step < 3; ++step) {
    const std::vector<float> before(first->value, first->value + first->numel);
    for (int64_t i = 0; i < first->numel; ++i)
      ASSERT_EQ(first->bf16_copy[i], f32_to_bf16(before[i])) << "step " << step << " would multiply a stale copy";
    losses.push_back(train_step(loaded, learner, acts, batch, settings, step).loss);
    // The masters hold values bf16 cannot: they are f32, not the copy widened.
    int64_t moved = 0, finer_than_bf16 = 0;
    for (int64_t i = 0; i < first->numel; ++i) {
      moved += first->value[i] != before[i];
      finer_than_bf16 += bf16_to_f32(f32_to_bf16(first->value[i])) != first->value[i];
    }
    EXPECT_GT(moved, first->numel / 2);
    EXPECT_GT(finer_than_bf16, first->numel / 2);
  }
  EXPECT_EQ(expect_copy_is_masters_rounded(loaded.model, *state.compute), parameters_with_copies(state));
  EXPECT_EQ(state.compute->weights.lm_head.data, state.compute->weights.embed.data);  // gqa_tied
  EXPECT_LT(losses.back(), losses.front());
}

// A resumed run loads its masters from a checkpoint: their copies follow, or its
// first step would multiply the weights the run started from.
TEST(FullBf16Compute, LoadingParametersRoundsTheirCopies) {
  LoadedModel loaded = trainable_model("gqa_tied");
  const TrainableState state = make_trainable(loaded, full_config("bf16"), 0, nullptr);
  const std::string path = test::this_test_scratch("bf16_compute_") + "/trainable.safetensors";
  for (const Parameter& p : state.parameters)
    for (int64_t i = 0; i < p.numel; ++i) p.value[i] += 0.25f;
  save_parameters(path, state.parameters);
  for (const Parameter& p : state.parameters) std::fill(p.value, p.value + p.numel, 0.0f);
  load_parameters(path, state.parameters);
  EXPECT_EQ(expect_copy_is_masters_rounded(loaded.model, *state.compute), parameters_with_copies(state));
}

// Supervised LoRA over a bf16 base lays its matrices out once for the input
// gradients' products (train/trainable.h packs_frozen_base): every matrix but
// the embedding's lookups, the head included. The loss and the adapter's
// gradients are those of the same base unpacked, up to fp32 sums in another order.
TEST(LoraPackedBase, GradientsAreThoseOfTheUnpackedBase) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    std::vector<float> grads[2];
    double loss[2];
    for (int packed = 0; packed < 2; ++packed) {
      LoadedModel loaded = load_model(test::testdata_path(std::string("tiny/") + variant + "/hf"), WeightFormat::BF16);
      TrainConfig config;
      config.weights = "bf16";
      config.lora_r = 4;
      config.lora_alpha = 8;
      config.lora_dropout = 0.0;
      config.lora_target_modules = {"q", "k", "v", "o", "gate", "up", "down"};
      const TrainableState state = make_trainable(loaded, config, 0, nullptr);
      LlamaWeights& weights = loaded.model.weights;
      EXPECT_EQ(weights.lm_head.packed_for_input_gradients != nullptr, cpu_has_bf16_units());
      int64_t matrices = 0, laid_out = 0;
      for_each_weight(weights, loaded.model.config, [&](const std::string& name, Weight& w) {
        if (w.rows == 1 || name == "token_embd.weight") {
          EXPECT_EQ(w.packed_for_input_gradients, nullptr) << name;
          return;
        }
        ++matrices;
        laid_out += w.packed_for_input_gradients != nullptr;
        if (!packed) w.packed_for_input_gradients.reset();
      });
      EXPECT_EQ(laid_out, cpu_has_bf16_units() ? matrices : 0);
      if (!packed) weights.lm_head.packed_for_input_gradients.reset();
      uint32_t seed = 17;  // B starts at zero: every adapter value random, so every gradient moves
      for (const Parameter& p : state.parameters) {
        const std::vector<float> values = test::random_values(p.numel, seed++);
        for (int64_t i = 0; i < p.numel; ++i) p.value[i] = 0.05f * values[size_t(i)];
      }
      const TrainingSequence s = random_sequence(24, int32_t(loaded.model.config.vocab_size));
      LlamaActivations acts(loaded.model.config, 24, config.lora_r);
      const CrossEntropyResult r = llama_forward_backward(loaded.model, state.pass(), acts, view(s), 1.0f / 24);
      loss[packed] = r.loss_sum / double(r.targets);
      for (const Parameter& p : state.parameters) grads[packed].insert(grads[packed].end(), p.grad, p.grad + p.numel);
    }
    ASSERT_TRUE(std::any_of(grads[0].begin(), grads[0].end(), [](float g) { return g != 0.0f; }));
    EXPECT_LT(test::relative_l2(grads[1], grads[0]), 1e-4);
    EXPECT_NEAR(loss[1], loss[0], 1e-5 * loss[0]);
  }
}

}  // namespace
}  // namespace whet
