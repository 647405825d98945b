// Reward models on the engine: a pair's Bradley–Terry loss with a margin and
// centering, and the gradients its weighted score backwards give the one-output
// head and what trains under it (a LoRA adapter, or every base weight), against
// PyTorch autograd on the tiny models (tests/python/make_reward_gradients.py;
// relative 1e-4, as every gradient check). Then a run through the trainer, as
// `whet train --method reward` runs it, learns its pairs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradient_checks.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "run_metrics.h"
#include "test_support.h"
#include "train/reward_step.h"
#include "train/trainer.h"

namespace whet {
namespace {

using test::expect_close;

SequenceClassifier read_head(const std::string& path, int64_t hidden) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  auto values = [&](const char* name) {
    const TensorView& t = *file.find_tensor(name);
    std::vector<float> v(t.numel());
    dequantize(t.dtype, t.data, v.data(), t.numel());
    return v;
  };
  SequenceClassifier head;
  head.labels = {kRewardLabel};
  head.hidden = hidden;
  head.weight = values("score.weight");
  head.bias = values("score.bias");
  return head;
}

struct RewardCase {
  RewardPair pair;
  double center = 0;
  nlohmann::json want;  // per case: chosen, rejected, loss
};

RewardCase read_case(const std::string& dir) {
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/reward/pair.json"));
  return {{j.at("chosen").get<std::vector<int32_t>>(), j.at("rejected").get<std::vector<int32_t>>(),
           j.at("margin").get<double>()},
          j.at("center").get<double>(), j};
}

void expect_head_grads(const std::vector<float>& dweight, const std::vector<float>& dbias, const SafetensorsFile& want) {
  expect_close("score.weight", dweight.data(), *want.find_tensor("score.weight"));
  expect_close("score.bias", dbias.data(), *want.find_tensor("score.bias"));
}

TEST(RewardStep, LossAndLoraGradientsMatchAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3", "mha_linear_sharded"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf");
    const RewardCase c = read_case(dir);
    const SequenceClassifier head = read_head(dir + "/reward/head.safetensors", loaded.model.config.hidden_size);
    LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
    LlamaLora lora_grads = zeros_like(lora);
    std::vector<float> dweight(head.weight.size()), dbias(1);
    LlamaActivations acts(loaded.model.config, 32, 4);
    const nlohmann::json& want = c.want.at("lora");
    EXPECT_NEAR(reward_score(loaded.model, &lora, acts, c.pair.chosen, head), want.at("chosen").get<double>(), 1e-5);
    EXPECT_NEAR(reward_score(loaded.model, &lora, acts, c.pair.rejected, head), want.at("rejected").get<double>(), 1e-5);
    TrainPass pass;
    pass.lora = &lora;
    pass.lora_grads = &lora_grads;
    const RewardPair* batch[] = {&c.pair};
    const PreferenceMetrics m =
        reward_backward(loaded.model, pass, acts, head.pass(-1, dweight.data(), dbias.data()), batch, {c.center});
    EXPECT_NEAR(m.loss, want.at("loss").get<double>(), 1e-5);
    EXPECT_DOUBLE_EQ(m.accuracy, want.at("chosen").get<double>() > want.at("rejected").get<double>() ? 1.0 : 0.0);
    test::expect_lora_grads(lora_grads, dir + "/reward/lora.safetensors", loaded.model.config.num_layers);
    expect_head_grads(dweight, dbias, SafetensorsFile::open(dir + "/reward/lora.safetensors"));
  }
}

// Every base weight trains (full fine-tuning): each answer runs forward for its
// score, then again with its weighted backward; the gradients reach every weight but the LM head.
TEST(RewardStep, FullGradientsMatchAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
    const RewardCase c = read_case(dir);
    const SequenceClassifier head = read_head(dir + "/reward/head.safetensors", loaded.model.config.hidden_size);
    LlamaWeights grads = make_gradients(loaded.model, [](const std::string&) { return true; });
    std::vector<float> dweight(head.weight.size()), dbias(1);
    LlamaActivations acts(loaded.model.config, 32, 0);
    TrainPass pass;
    pass.grads = &grads;
    const RewardPair* batch[] = {&c.pair};
    const PreferenceMetrics m =
        reward_backward(loaded.model, pass, acts, head.pass(-1, dweight.data(), dbias.data()), batch, {c.center});
    EXPECT_NEAR(m.loss, c.want.at("full").at("loss").get<double>(), 1e-5);
    const SafetensorsFile want = SafetensorsFile::open(dir + "/reward/full.safetensors");
    expect_head_grads(dweight, dbias, want);
    EXPECT_GE(test::expect_base_grads(grads, loaded.model.config, want), 2 + 9 * loaded.model.config.num_layers)
        << "embeddings, norms and every block weight";
  }
}

// Pairs on the tiny model through run_training, as `whet train --method reward`
// runs them: TRL's reward logs per step and evaluation, a "margin" line read,
// and the adapter with its one-output head written and preferring the chosen answers.
TEST(RewardTraining, ARunThroughTheTrainerLearnsItsPairs) {
  const std::string dir = test::scratch_dir("reward_run");
  auto write_pairs = [&](const std::string& name, int count, int offset) {
    std::ofstream out(dir + "/" + name);
    for (int i = 0; i < count; ++i) {
      const std::string n = std::to_string((offset + i) % 5);
      nlohmann::json line = {{"prompt", {{{"role", "user"}, {"content", "the sea " + n}}}},
                             {"chosen", {{{"role", "assistant"}, {"content", "the tin " + n}}}},
                             {"rejected", {{{"role", "assistant"}, {"content", "the oak " + n + " is here"}}}}};
      if (i == 0) line["margin"] = 0.5;
      out << line.dump() << "\n";
    }
    return dir + "/" + name;
  };
  TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "method=reward",
       "train_data=" + write_pairs("train.jsonl", 12, 0), "val_data=" + write_pairs("val.jsonl", 4, 100),
       "learning_rate=1e-2", "num_epochs=3", "micro_batch_size=4", "sequence_len=64",
       "reward_center_coefficient=0.01", "early_stopping_patience=0"});
  const TrainRunResult run = run_training(c, {});
  EXPECT_TRUE(std::filesystem::exists(run.output + "/adapter_model.safetensors")) << run.output;
  EXPECT_FALSE(run.gate.has_value());  // nothing for the forgetting gate to judge
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"));
  const SequenceClassifier head = load_sequence_classifier(run.output, loaded.model.config.hidden_size);
  EXPECT_TRUE(head.scores());
  EXPECT_EQ(head.labels, std::vector<std::string>{"reward"});
  const TrainConfig saved = load_train_config(dir + "/run/config.yaml", {});
  EXPECT_EQ(saved.rl, "reward");
  const auto [steps, evals] = test::read_run_metrics(dir + "/run");
  ASSERT_EQ(steps.size(), 9u);  // 12 pairs, 4 per step, 3 epochs
  for (const char* key : {"rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy"})
    EXPECT_TRUE(steps.back().contains(key)) << key;
  EXPECT_FALSE(steps.back().contains("logps_chosen"));  // a reward model has no log-probs to log
  ASSERT_GE(evals.size(), 2u);
  EXPECT_GT(evals.back().at("eval_rewards_margin").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(evals.back().at("eval_rewards_accuracy").get<double>(), 1.0);
  EXPECT_LT(evals.back().at("val_loss").get<double>(), evals.front().at("val_loss").get<double>());
}

// With every weight training (method full), the run writes the model and its
// head side by side, which `whet serve --reward-model` and `whet eval` load.
TEST(RewardTraining, FullFineTuningWritesTheModelBesideItsHead) {
  const std::string dir = test::scratch_dir("reward_full_run");
  {
    std::ofstream out(dir + "/train.jsonl");
    for (int i = 0; i < 4; ++i)
      out << nlohmann::json{{"prompt", "the sea " + std::to_string(i)}, {"chosen", " tin"}, {"rejected", " oak is here"}}.dump()
          << "\n";
  }
  const TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "rl=reward",
       "method=full", "train_data=" + dir + "/train.jsonl", "learning_rate=1e-3", "num_epochs=1",
       "micro_batch_size=2", "sequence_len=32"});
  const TrainRunResult run = run_training(c, {});
  ASSERT_EQ(run.steps, 2);
  EXPECT_TRUE(std::filesystem::exists(run.output + "/config.json")) << run.output;
  const LoadedModel trained = load_model(run.output, WeightFormat::F32);
  EXPECT_TRUE(load_sequence_classifier(run.output, trained.model.config.hidden_size).scores());
}

}  // namespace
}  // namespace whet
