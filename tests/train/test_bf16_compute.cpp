// Full fine-tuning with weights: bf16 (train/trainable.h): f32 masters that
// the optimiser updates, multiplied as a bf16 copy rounded before each step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/random_tensors.h"
#include "models/model_loader.h"
#include "test_support.h"
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
      refresh_compute_copy(state);
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

// The optimiser moves the f32 masters by steps finer than bf16 resolves, and
// each step multiplies them as they stood when it began, freshly rounded.
TEST(FullBf16Compute, StepsUpdateTheF32MastersAndTheCopyFollows) {
  LoadedModel loaded = trainable_model("gqa_tied");
  const TrainConfig config = full_config("bf16");
  Learner learner = make_learner(loaded, config, 0);
  const TrainableState& state = learner.trainable;
  ASSERT_FALSE(state.compute_copies.empty());
  const TrainingSequence s = random_sequence(32, int32_t(loaded.model.config.vocab_size));
  const TrainingSequence* const batch[] = {&s};
  LlamaActivations acts(loaded.model.config, 32, 0);
  const StepSettings settings = step_settings(config, 3);
  std::vector<double> losses;
  for (int64_t step = 0; step < 3; ++step) {
    const ComputeCopy& first = state.compute_copies.front();
    const std::vector<float> before(first.master, first.master + first.numel);
    losses.push_back(train_step(loaded, learner, acts, batch, settings, step).loss);
    // The step multiplied the masters as they stood when it began, rounded;
    // the masters hold values bf16 cannot: they are f32, not the copy widened.
    int64_t moved = 0, finer_than_bf16 = 0;
    for (int64_t i = 0; i < first.numel; ++i) {
      ASSERT_EQ(first.copy[i], f32_to_bf16(before[i])) << "step " << step << " multiplied a stale copy";
      moved += first.master[i] != before[i];
      finer_than_bf16 += bf16_to_f32(f32_to_bf16(first.master[i])) != first.master[i];
    }
    EXPECT_GT(moved, first.numel / 2);
    EXPECT_GT(finer_than_bf16, first.numel / 2);
  }
  refresh_compute_copy(state);
  for (const ComputeCopy& c : state.compute_copies)
    for (int64_t i = 0; i < c.numel; ++i) ASSERT_EQ(c.copy[i], f32_to_bf16(c.master[i]));
  // What the steps multiply, weight by weight as the forward reads it, is its
  // own master rounded (each copy paired with the right master, tied head included).
  std::vector<const Weight*> masters;
  for_each_weight(loaded.model.weights, loaded.model.config,
                  [&](const std::string&, const Weight& w) { masters.push_back(&w); });
  size_t k = 0, rounded = 0;
  for_each_weight(state.compute->weights, loaded.model.config, [&](const std::string& name, const Weight& w) {
    const Weight& master = *masters[k++];
    if (w.dtype != DType::BF16) return;
    ++rounded;
    const auto* copy = reinterpret_cast<const uint16_t*>(w.data);
    const auto* value = reinterpret_cast<const float*>(master.data);
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(copy[i], f32_to_bf16(value[i])) << name << " " << i;
  });
  EXPECT_EQ(rounded, state.compute_copies.size());
  EXPECT_EQ(state.compute->weights.lm_head.data, state.compute->weights.embed.data);  // gqa_tied
  EXPECT_LT(losses.back(), losses.front());
}

}  // namespace
}  // namespace whet
