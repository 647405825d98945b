// Issue 16's reward-model acceptance on the real default model:
// examples/house-style, whose preferred answers are one sentence and the
// sign-off "— Harbor Desk" and whose rejected answers are the base model's own.
// `whet train --data train.jsonl --val val.jsonl --method reward --output DIR`
// with nothing else given (weights auto only for speed) must rank the 50 held-out test
// pairs, scored as `whet eval --classifier` scores them, with pairwise accuracy >= 0.85.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "eval/evaluate.h"
#include "models/lora_peft.h"
#include "run_metrics.h"
#include "test_support.h"
#include "train/trainer.h"

namespace whet {
namespace {

TEST(RealModelReward, RewardModelWithDefaultsRanksHeldOutPairs) {
  WHET_REQUIRE_DEFAULT_MODEL();
  const std::string data = test::source_path("examples/house-style");
  const std::string dir = test::scratch_dir("real_reward_house_style") + "/run";
  const TrainConfig config = train_config_from_overrides(
      {"base_model=" + test::default_model_path(), "train_data=" + data + "/train.jsonl",
       "val_data=" + data + "/val.jsonl", "method=reward", "output_dir=" + dir, "weights=auto"});
  const auto start = std::chrono::steady_clock::now();
  const TrainRunResult run = run_training(config, {});
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(run.output.empty());
  std::printf("[ measured ] training: %lld steps in %.1f s, validation loss %.4f -> best %.4f\n",
              static_cast<long long>(run.steps), train_seconds, run.first_val_loss, run.best_val_loss);
  // A new head can order these pairs by chance (the answers differ in every way
  // the last token's state can show), so what shows learning is the loss falling.
  const nlohmann::json first = test::read_run_metrics(dir).evals.at(0);
  std::printf("[ measured ] validation pairs before training (a new head): %s\n", first.dump().c_str());
  EXPECT_LT(run.best_val_loss, 0.5 * run.first_val_loss);

  LoadedModel model = load_model(test::default_model_path(), fastest_weight_format());
  model.adapter = std::make_shared<LlamaLora>(load_peft_adapter(run.output, model.model.config));
  const SequenceClassifier head = load_sequence_classifier(run.output, model.model.config.hidden_size);
  const Task test_pairs = read_task(data + "/test.jsonl");
  ASSERT_EQ(test_pairs.kind, TaskKind::Preference);
  ASSERT_EQ(test_pairs.items.size(), 50u);
  EvalOptions options;
  options.classifier = &head;
  const TaskResult held_out = evaluate_task(model, "reward", test_pairs, options);
  const Metric& accuracy = held_out.metrics.at(0);
  ASSERT_EQ(accuracy.name, "pairwise_accuracy");
  std::printf("[ measured ] held-out pairs: pairwise accuracy %.3f (95%% bootstrap interval %.3f to %.3f)\n",
              accuracy.value, accuracy.interval.low, accuracy.interval.high);
  EXPECT_GE(accuracy.value, 0.85);
}

}  // namespace
}  // namespace whet
