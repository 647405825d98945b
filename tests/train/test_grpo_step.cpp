// GRPO on the engine: a group's advantages, its loss with and without the KL
// term, and the LoRA gradients the token-weighted cross-entropy backward gives,
// against PyTorch autograd on the tiny models (tests/python/make_grpo_gradients.py;
// relative 1e-4, as every gradient check). Then GRPO steps with a grader that
// rewards one token teach the tiny model to say it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gradient_checks.h"
#include "heard_run.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "test_support.h"
#include "train/grpo_step.h"
#include "train/trainer.h"

namespace whet {
namespace {

TEST(GrpoStep, LossAndLoraGradientsMatchAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf");
    const nlohmann::json group = nlohmann::json::parse(std::ifstream(dir + "/grpo/group.json"));
    const std::vector<double> rewards = group.at("rewards").get<std::vector<double>>();
    const std::vector<double> advantages = group_advantages(rewards, int64_t(rewards.size()));
    std::vector<GrpoCompletion> batch;
    for (size_t i = 0; i < rewards.size(); ++i)
      batch.push_back({test::read_training_sequence(group.at("completions")[i]), advantages[i]});
    LlamaActivations acts(loaded.model.config, 32, 4);
    for (const char* kind : {"plain", "kl"}) {
      SCOPED_TRACE(std::string(variant) + " " + kind);
      const nlohmann::json want = nlohmann::json::parse(std::ifstream(dir + "/grpo/" + kind + ".json"));
      for (size_t i = 0; i < advantages.size(); ++i)
        EXPECT_NEAR(advantages[i], want.at("advantages")[i].get<double>(), 1e-12);
      LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
      LlamaLora lora_grads = zeros_like(lora);
      TrainPass pass;
      pass.lora = &lora;
      pass.lora_grads = &lora_grads;
      GrpoSettings settings;
      settings.clip_low = settings.clip_high = want.at("epsilon").get<double>();
      settings.beta = want.at("beta").get<double>();
      const GrpoMetrics m = grpo_backward(loaded.model, pass, acts, batch, settings);
      EXPECT_NEAR(m.loss, want.at("loss").get<double>(), 1e-5 * std::max(1.0, std::abs(want.at("loss").get<double>())));
      if (settings.beta > 0) {
        EXPECT_NEAR(m.kl, want.at("kl").get<double>(), 1e-5 * std::max(1.0, want.at("kl").get<double>()));
      }
      EXPECT_EQ(m.clip_fraction, 0.0);  // one inner iteration: the ratio is 1
      test::expect_lora_grads(lora_grads, dir + "/grpo/" + std::string(kind) + ".safetensors",
                              loaded.model.config.num_layers);
    }
  }
}

// Scores 1 when the completion's first token has an even id, else 0: about half
// the samples of a random model, so every group carries a signal.
class EvenFirstTokenGrader : public Grader {
 public:
  Grade grade(const GradeInput& in) override { return {!in.output_tokens.empty() && in.output_tokens[0] % 2 == 0 ? 1.0 : 0.0}; }
};

// Steps on one prompt with a grader that rewards some first tokens: the reward
// the rollouts earn rises, so the update moves the live adapter the way the grader points.
TEST(GrpoStep, StepsRaiseTheRewardOfARewardedToken) {
  const std::string dir = test::testdata_path("tiny/gqa_tied");
  LoadedModel loaded = load_model(dir + "/hf");
  TrainConfig config;
  config.rl = "grpo";
  config.rl_beta = 0;
  config.lora_r = 4;
  config.lora_alpha = 8;
  config.lora_dropout = 0;
  config.lora_target_modules = {"q", "v", "o", "down"};
  config.learning_rate = 3e-2;
  config.num_generations = 8;
  config.max_completion_length = 2;
  Learner learner = make_learner(loaded, config, 0, nullptr);
  LlamaActivations acts(loaded.model.config, 32, 4);
  PromptItem prompt{"test:1", {1, 5, 9, 2}, nlohmann::json::object()};
  const std::vector<const PromptItem*> prompts = {&prompt, &prompt};
  EvenFirstTokenGrader grader;
  const GrpoObjective objective = grpo_objective(config);
  const StepSettings settings = step_settings(config, 30);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    const GrpoStepResult r = grpo_step(loaded, learner, acts, prompts, grader, settings, objective, step);
    ASSERT_TRUE(r.step.updated);
    if (step < 5) first += r.metrics.reward_mean / 5;
    if (step >= 25) last += r.metrics.reward_mean / 5;
  }
  EXPECT_GT(last, first + 0.2) << "first five steps " << first << ", last five " << last;
}

// Prompts on the tiny model through run_training, as `whet train --method grpo
// --grader FILE` runs them: β is decided as 0, each step logs what TRL logs, an
// inline grader reads the item's fields, and the adapter is written.
TEST(GrpoTraining, ARunThroughTheTrainerLogsItsRewards) {
  const std::string dir = test::scratch_dir("grpo_run");
  {
    std::ofstream out(dir + "/prompts.jsonl");
    for (int i = 0; i < 6; ++i)
      out << nlohmann::json{{"prompt", "the sea " + std::to_string(i)}, {"want", "e"}}.dump() << "\n";
  }
  TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "method=grpo",
       "train_data=" + dir + "/prompts.jsonl", "num_generations=3", "max_completion_length=4", "micro_batch_size=2",
       "max_steps=4", "sequence_len=32", "forgetting_gate=false",
       R"(grader={"type": "string_check", "input": "{{sample.output_text}}", "reference": "{{item.want}}", "operation": "like"})"});
  const test::HeardRun heard = test::run_and_listen(c);
  const TrainRunResult& run = heard.result;
  EXPECT_TRUE(std::filesystem::exists(run.output + "/adapter_model.safetensors")) << run.output;
  const TrainConfig saved = load_train_config(dir + "/run/config.yaml", {});
  EXPECT_EQ(saved.rl, "grpo");
  EXPECT_EQ(saved.rl_beta, 0.0);
  EXPECT_EQ(saved.grader.at("reference"), "{{item.want}}");
  std::vector<nlohmann::json> steps;
  std::ifstream metrics(dir + "/run/metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) steps.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(steps.size(), 4u);
  for (const char* key : {"reward", "reward_std", "frac_reward_zero_std", "clip_ratio", "completion_length",
                          "completions_ended"})
    EXPECT_TRUE(steps.back().contains(key)) << key;
  EXPECT_FALSE(steps.back().contains("kl"));  // β 0: no reference pass
  for (const nlohmann::json& s : steps) {
    EXPECT_GE(s.at("reward").get<double>(), 0.0);
    EXPECT_LE(s.at("completion_length").get<double>(), 4.0);
    EXPECT_EQ(s.at("clip_ratio").get<double>(), 0.0);
  }
}

// reward_target: a grader every completion satisfies gives reward 1 from the
// first step, so the run stops after the five steps the target is judged on,
// and writes its adapter; a target without grpo is refused.
TEST(GrpoTraining, AReachedRewardTargetStopsTheRun) {
  const std::string dir = test::scratch_dir("grpo_target");
  {
    std::ofstream out(dir + "/prompts.jsonl");
    for (int i = 0; i < 4; ++i) out << nlohmann::json{{"prompt", "the sea " + std::to_string(i)}}.dump() << "\n";
  }
  const std::vector<std::string> overrides = {
      "base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "method=grpo",
      "train_data=" + dir + "/prompts.jsonl", "num_generations=2", "max_completion_length=2", "micro_batch_size=2",
      "max_steps=20", "sequence_len=32", "forgetting_gate=false", "reward_target=0.9",
      R"(grader={"type": "string_check", "input": "{{sample.output_text}}", "reference": "no such answer", "operation": "ne"})"};
  const test::HeardRun heard = test::run_and_listen(train_config_from_overrides(overrides));
  const TrainRunResult& run = heard.result;
  EXPECT_EQ(run.steps, kRewardTargetSteps);
  EXPECT_TRUE(run.stopped_early);
  EXPECT_TRUE(std::filesystem::exists(run.output + "/adapter_model.safetensors")) << run.output;
  EXPECT_TRUE(heard.said_containing("at least reward_target 0.9: stopping"));
  EXPECT_THROW(train_config_from_overrides({"output_dir=x", "train_data=x.jsonl", "rl=dpo", "reward_target=0.5"}),
               Error);
}

}  // namespace
}  // namespace whet
