// Task sequences on the tiny model: stages train in turn, every task is scored
// after every stage, and backward transfer and forgetting follow from the
// matrix as the papers define them; a progressive stage starts from the earlier
// adapter folded into its base; bad sequences are refused by key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "train/continual.h"

namespace whet {
namespace {

// Chat lines "the WORD n" -> "the ANSWER n", for training; the same prompts labelled, for scoring.
void write_task(const std::string& dir, const std::string& name, const std::string& word, const std::string& answer) {
  std::ofstream train(dir + "/" + name + ".jsonl"), eval(dir + "/" + name + "_eval.jsonl");
  for (int n = 0; n < 12; ++n) {
    const std::string prompt = "the " + word + " " + std::to_string(n % 4);
    const std::string reply = "the " + answer + " " + std::to_string(n % 4);
    train << nlohmann::json({{"messages", {{{"role", "user"}, {"content", prompt}}, {{"role", "assistant"}, {"content", reply}}}}}).dump() << "\n";
    if (n < 4) eval << nlohmann::json({{"messages", {{{"role", "user"}, {"content", prompt}}}}, {"label", reply}}).dump() << "\n";
  }
}

TrainConfig sequence_config(const std::string& name, const std::string& strategy) {
  const std::string dir = test::scratch_dir("continual_" + name);
  write_task(dir, "sea", "sea", "tin");
  write_task(dir, "sky", "sky", "owl");
  TrainConfig c;
  c.base_model = test::testdata_path("tiny/gqa_tied/hf");
  c.output_dir = dir + "/run";
  c.task_sequence = {dir + "/sea.jsonl", dir + "/sky.jsonl"};
  c.task_sequence_eval = {dir + "/sea_eval.jsonl", dir + "/sky_eval.jsonl"};
  c.continual_strategy = strategy;
  c.sequence_len = 32;
  c.sample_packing = false;
  c.num_epochs = 2;
  c.learning_rate = 1e-2;
  c.lora_dropout = 0;
  c.forgetting_gate = false;
  c.replay_data = "";  // the stages' own replay (continual_strategy) is what these tests look at
  c.distill_weight = 0;
  return c;
}

TEST(Continual, EveryTaskIsScoredAfterEveryStage) {
  const TrainConfig c = sequence_config("sequential", "sequential");
  const ContinualResult r = run_task_sequence(c, {});
  ASSERT_EQ(r.stages.size(), 2u);
  ASSERT_EQ(r.scores.size(), 2u);
  for (const std::vector<double>& row : r.scores) ASSERT_EQ(row.size(), 2u);
  EXPECT_EQ(r.metrics[0], "accuracy");
  // Backward transfer: final score on the first task minus its score just after it was learned;
  // forgetting: the best score before the last stage minus the final one.
  EXPECT_DOUBLE_EQ(r.backward_transfer, r.scores[1][0] - r.scores[0][0]);
  ASSERT_EQ(r.forgetting.size(), 1u);
  EXPECT_DOUBLE_EQ(r.forgetting[0], r.scores[0][0] - r.scores[1][0]);
  // The second stage continued the first stage's adapter.
  const std::string stage2 = c.output_dir + "/stage-2/config.yaml";
  std::ifstream in(stage2);
  const std::string yaml((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(yaml.find("lora_model_dir: \"" + c.output_dir + "/stage-1/adapter\""), std::string::npos) << yaml;

  const nlohmann::json report = nlohmann::json::parse(std::ifstream(c.output_dir + "/continual.json"));
  EXPECT_EQ(report.at("scores").get<std::vector<std::vector<double>>>(), r.scores);
  EXPECT_NE(continual_table(r).find("backward transfer"), std::string::npos);
}

TEST(Continual, ProgressiveStagesStackANewAdapterOnTheEarlierOnesFolded) {
  const TrainConfig c = sequence_config("progressive", "progressive");
  const ContinualResult r = run_task_sequence(c, {});
  ASSERT_EQ(r.scores.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(c.output_dir + "/stage-1/merged/model.safetensors"));
  std::ifstream in(c.output_dir + "/stage-2/config.yaml");
  const std::string yaml((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(yaml.find("base_model: \"" + c.output_dir + "/stage-1/merged\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("lora_model_dir: \"\""), std::string::npos) << yaml;
}

TEST(Continual, BadSequencesAreRefusedByKey) {
  test::expect_error([] { train_config_from_overrides({"output_dir=o", "task_sequence=[a.jsonl, b.jsonl]",
                                                       "task_sequence_eval=[a.jsonl]"}); },
                     {"task_sequence_eval", "2 stages", "got 1"});
  test::expect_error([] { train_config_from_overrides({"output_dir=o", "task_sequence=[a.jsonl]",
                                                       "task_sequence_eval=[a.jsonl]", "train_data=t.jsonl"}); },
                     {"task_sequence", "train_data"});
  test::expect_error([] { train_config_from_overrides({"output_dir=o", "task_sequence=[a.jsonl]",
                                                       "task_sequence_eval=[a.jsonl]", "method=full",
                                                       "continual_strategy=progressive"}); },
                     {"continual_strategy", "lora"});
  test::expect_error([] { train_config_from_overrides({"output_dir=o"}); }, {"train_data", "required"});
}

}  // namespace
}  // namespace whet
