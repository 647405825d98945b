// Preference training on the engine: the log-probs of a pair's answers, the
// pair's loss under DPO (cDPO), IPO, SimPO and ORPO, and the LoRA gradients the
// weighted cross-entropy backward gives, against PyTorch autograd on the tiny
// models (tests/python/make_preference_gradients.py; relative 1e-4, as every
// gradient check). Then steps on one pair move its margin the preferred way.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "data/tokenize_preference.h"
#include "gradient_checks.h"
#include "heard_run.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "run_metrics.h"
#include "test_support.h"
#include "train/preference_step.h"
#include "train/shared_prompt.h"
#include "train/trainer.h"

namespace whet {
namespace {

PreferenceObjective objective_of(const std::string& kind, const nlohmann::json& settings) {
  TrainConfig c;
  c.rl = kind == "simpo" || kind == "orpo" ? kind : "dpo";
  c.dpo_loss_type = kind == "ipo" ? "ipo" : "sigmoid";
  c.rpo_alpha = 0;  // the references are the losses without RPO
  c.rl_beta = settings.at("beta");
  c.dpo_label_smoothing = settings.at("label_smoothing");
  c.simpo_gamma = settings.value("simpo_gamma", c.simpo_gamma);
  c.orpo_alpha = settings.value("orpo_lambda", c.orpo_alpha);
  return preference_objective(c);
}

TEST(PreferenceStep, LossAndLoraGradientsMatchAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf");
    const nlohmann::json pair_json = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
    const std::vector<PreferenceSequences> pairs = {
        {test::read_training_sequence(pair_json.at("chosen")), test::read_training_sequence(pair_json.at("rejected"))}};
    LlamaActivations acts(loaded.model.config, 32, 4);
    const std::vector<ReferencedPair> referenced = reference_logps(loaded.model, acts, pairs);
    for (const char* kind : {"sigmoid", "ipo", "simpo", "orpo"}) {
      SCOPED_TRACE(std::string(variant) + " " + kind);
      const nlohmann::json want = nlohmann::json::parse(std::ifstream(dir + "/preference/" + kind + ".json"));
      // The reference is the base: the adapter switched off.
      EXPECT_NEAR(referenced[0].ref_chosen, want.at("ref_chosen").get<double>(), 1e-4);
      EXPECT_NEAR(referenced[0].ref_rejected, want.at("ref_rejected").get<double>(), 1e-4);
      LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
      LlamaLora lora_grads = zeros_like(lora);
      EXPECT_NEAR(completion_logp(loaded.model, &lora, acts, pairs[0].chosen), want.at("chosen").get<double>(), 1e-4);
      TrainPass pass;
      pass.lora = &lora;
      pass.lora_grads = &lora_grads;
      const PreferenceMetrics m = preference_backward(loaded.model, pass, acts, referenced, objective_of(kind, want));
      EXPECT_NEAR(m.loss, want.at("loss").get<double>(), 1e-5 * std::max(1.0, std::abs(want.at("loss").get<double>())));
      test::expect_lora_grads(lora_grads, dir + "/preference/" + std::string(kind) + ".safetensors",
                              loaded.model.config.num_layers);
    }
  }
}

// When base weights train too, each answer runs forward for its log-prob and
// again with its backward (no model-sized scratch gradient): the adapter's
// gradients are those of the one-pass path.
TEST(PreferenceStep, BothPathsGiveTheSameAdapterGradients) {
  const std::string dir = test::testdata_path("tiny/gqa_tied");
  const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
  const nlohmann::json pair_json = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
  const std::vector<PreferenceSequences> pairs = {
      {test::read_training_sequence(pair_json.at("chosen")), test::read_training_sequence(pair_json.at("rejected"))}};
  LlamaActivations acts(loaded.model.config, 32, 4);
  const std::vector<ReferencedPair> referenced = reference_logps(loaded.model, acts, pairs);
  const nlohmann::json settings = nlohmann::json::parse(std::ifstream(dir + "/preference/sigmoid.json"));
  LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
  std::vector<std::vector<float>> adapter_grads[2];
  for (int with_base = 0; with_base < 2; ++with_base) {
    LlamaLora lora_grads = zeros_like(lora);
    LlamaWeights base_grads = make_gradients(loaded.model, [](const std::string&) { return true; });
    TrainPass pass;
    pass.lora = &lora;
    pass.lora_grads = &lora_grads;
    if (with_base) pass.grads = &base_grads;
    preference_backward(loaded.model, pass, acts, referenced, objective_of("sigmoid", settings));
    for_each_lora_tensor(lora_grads, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) {
      adapter_grads[with_base].push_back(g);
    });
  }
  ASSERT_EQ(adapter_grads[0].size(), adapter_grads[1].size());
  for (size_t t = 0; t < adapter_grads[0].size(); ++t)
    for (size_t i = 0; i < adapter_grads[0][t].size(); ++i)
      ASSERT_NEAR(adapter_grads[0][t][i], adapter_grads[1][t][i], 1e-6 + 1e-4 * std::abs(adapter_grads[0][t][i]))
          << "tensor " << t << " value " << i;
}

// Every float of a set of gradient tensors, tensor by tensor.
using Gradients = std::vector<std::vector<float>>;

Gradients lora_tensors(LlamaLora& lora) {
  Gradients out;
  for_each_lora_tensor(lora, [&](const std::string&, std::vector<float>& g, int64_t, int64_t) { out.push_back(g); });
  return out;
}

Gradients base_tensors(const LlamaModel& model, LlamaWeights& grads) {
  Gradients out;
  for_each_weight(grads, model.config, [&](const std::string&, Weight& g) {
    const float* data = reinterpret_cast<const float*>(g.data);
    out.emplace_back(data, data + g.numel());
  });
  return out;
}

// Relative 1e-5 per tensor (max|a − b| / max|b|): the same sums in another order.
void expect_same_gradients(const Gradients& got, const Gradients& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t t = 0; t < want.size(); ++t) {
    float scale = 0, diff = 0;
    for (size_t i = 0; i < want[t].size(); ++i) {
      scale = std::max(scale, std::abs(want[t][i]));
      diff = std::max(diff, std::abs(got[t][i] - want[t][i]));
    }
    EXPECT_GT(scale, 0.0f) << "tensor " << t << " has no gradient";
    EXPECT_LE(diff, 1e-5f * scale) << "tensor " << t;
  }
}

// A pair of random tokens whose prompt is as long as its answers and whose
// sequences cross attention's 64-row query tiles.
PreferenceSequences long_pair(int32_t vocab) {
  std::mt19937 rng(7);
  auto tokens = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& x : ids) x = int32_t(rng() % uint32_t(vocab));
    return ids;
  };
  const std::vector<int32_t> prompt = tokens(50);  // positions stay within the tiny models' 128
  return {answer_sequence(prompt, tokens(40)), answer_sequence(prompt, tokens(45))};
}

// How a pair is encoded: its prompt once in one sequence; or each answer in its
// own (sharing off, or on but the pair too long for the activations).
struct Encoding {
  const char* name;
  bool share;
  int64_t max_tokens;
};

// The prompt encoded once gives what encoding it twice gives: the answers'
// log-probs and the loss (the metrics), and the gradients of an adapter and, in
// full fine-tuning, of every base weight, the tied LM head among them (its
// forward runs again once the answers' weights are known).
TEST(PreferenceStep, SharingThePromptChangesNothingButTheCost) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf", WeightFormat::F32);
    const nlohmann::json pair_json = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
    const std::vector<PreferenceSequences> pairs = {
        {test::read_training_sequence(pair_json.at("chosen")), test::read_training_sequence(pair_json.at("rejected"))},
        long_pair(loaded.model.config.vocab_size)};
    LlamaActivations big(loaded.model.config, 160, 4);
    const std::vector<ReferencedPair> referenced = reference_logps(loaded.model, big, pairs);
    const nlohmann::json settings = nlohmann::json::parse(std::ifstream(dir + "/preference/sigmoid.json"));
    const LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
    for (const bool full : {false, true}) {
      std::vector<PreferenceMetrics> metrics;
      std::vector<Gradients> grads;
      // The long pair's shared sequence (134 rows) does not fit 110 rows; each answer (89, 94) does.
      for (const Encoding e : {Encoding{"shared", true, 160}, Encoding{"separate", false, 160},
                               Encoding{"too long to share", true, 110}}) {
        SCOPED_TRACE(std::string(variant) + (full ? " full " : " lora ") + e.name);
        LlamaActivations acts(loaded.model.config, e.max_tokens, 4);
        LlamaLora lora_grads = zeros_like(lora);
        LlamaWeights base_grads = make_gradients(loaded.model, [](const std::string&) { return true; });
        TrainPass pass;
        pass.lora = &lora;
        pass.lora_grads = &lora_grads;
        if (full) pass.grads = &base_grads;
        PreferenceObjective objective = objective_of("sigmoid", settings);
        objective.share_prompt = e.share;
        metrics.push_back(preference_backward(loaded.model, pass, acts, referenced, objective));
        grads.push_back(full ? base_tensors(loaded.model, base_grads) : lora_tensors(lora_grads));
        if (metrics.size() == 1) continue;
        for (const auto& [got, want] : {std::pair{metrics.back().logp_chosen, metrics[0].logp_chosen},
                                        std::pair{metrics.back().logp_rejected, metrics[0].logp_rejected},
                                        std::pair{metrics.back().loss, metrics[0].loss}})
          EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::abs(want)));
        expect_same_gradients(grads.back(), grads[0]);
      }
    }
  }
}

// The shared sequence's layout: chosen's rows, then rejected's from the
// prompt's last token on, at its own positions, seeing the prompt before it.
TEST(SharedPrompt, LaysThePairOutAsOneSequence) {
  const std::vector<int32_t> prompt = {1, 2, 3}, chosen = {10, 11}, rejected = {20, 21, 22};
  const SharedPromptSequence s = share_prompt(answer_sequence(prompt, chosen), answer_sequence(prompt, rejected));
  EXPECT_EQ(s.sequence.ids, (std::vector<int32_t>{1, 2, 3, 10, 3, 20, 21}));
  EXPECT_EQ(s.sequence.targets, (std::vector<int32_t>{-1, -1, 10, 11, 20, 21, 22}));
  EXPECT_EQ(s.sequence.positions, (std::vector<int32_t>{0, 1, 2, 3, 2, 3, 4}));
  EXPECT_EQ(s.sequence.segment_begin, (std::vector<int32_t>{0, 0, 0, 0, 4, 4, 4}));
  EXPECT_EQ(s.prefix_end, (std::vector<int32_t>{0, 0, 0, 0, 2, 2, 2}));
  EXPECT_EQ(s.row_ends[0], 4);
  EXPECT_EQ(s.row_ends[1], 7);
  EXPECT_EQ(pair_tokens(answer_sequence(prompt, chosen), answer_sequence(prompt, rejected)), 8);
}

// A few DPO steps with an SGD learner on one pair raise the chosen answer's
// reward over the rejected one's: the weights' signs send the update the right way.
TEST(PreferenceStep, StepsWidenThePreferredMargin) {
  const std::string dir = test::testdata_path("tiny/gqa_tied");
  LoadedModel loaded = load_model(dir + "/hf");
  const nlohmann::json pair_json = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
  const std::vector<PreferenceSequences> pairs = {
      {test::read_training_sequence(pair_json.at("chosen")), test::read_training_sequence(pair_json.at("rejected"))}};
  TrainConfig config;
  config.rl = "dpo";
  config.lora_r = 4;
  config.lora_alpha = 8;
  config.lora_dropout = 0;
  config.lora_target_modules = {"q", "v"};
  config.learning_rate = 1e-2;
  config.optimizer = OptimizerKind::Sgd;
  config.rpo_alpha = 0;  // pure DPO: the margin alone moves
  config.rl_beta = 0.1;  // auto until a run decides it
  Learner learner = make_learner(loaded, config, 0, nullptr);
  LlamaActivations acts(loaded.model.config, 32, 4);
  const std::vector<ReferencedPair> referenced = reference_logps(loaded.model, acts, pairs);
  const PreferenceObjective objective = preference_objective(config);
  const StepSettings settings = step_settings(config, 10);
  std::vector<double> margins;
  for (int step = 0; step < 10; ++step) {
    const PreferenceStepResult r = preference_step(loaded, learner, acts, referenced, settings, objective, step);
    ASSERT_TRUE(r.step.updated);
    margins.push_back(r.metrics.margin);
  }
  EXPECT_DOUBLE_EQ(margins.front(), 0.0);  // a new adapter (B = 0) is the reference
  EXPECT_GT(margins.back(), margins.front() + 0.01) << margins.back();
  for (size_t i = 1; i < margins.size(); ++i) EXPECT_GE(margins[i], margins[i - 1] - 1e-9) << "step " << i;
}

// Pairs on the tiny model through run_training, as `whet train --method dpo`
// runs them: the reference is computed, each step logs what TRL logs, the
// validation pairs are scored, and the adapter comes out preferring the chosen
// answers it was shown.
TEST(PreferenceTraining, ARunThroughTheTrainerLearnsItsPairs) {
  const std::string dir = test::scratch_dir("preference_run");
  auto write_pairs = [&](const std::string& name, int count, int offset) {
    std::ofstream out(dir + "/" + name);
    for (int i = 0; i < count; ++i) {
      const std::string n = std::to_string((offset + i) % 5);
      out << nlohmann::json{{"prompt", {{{"role", "user"}, {"content", "the sea " + n}}}},
                            {"chosen", {{{"role", "assistant"}, {"content", "the tin " + n}}}},
                            {"rejected", {{{"role", "assistant"}, {"content", "the oak " + n + " is here"}}}}}
                 .dump()
          << "\n";
    }
    return dir + "/" + name;
  };
  TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "method=dpo",
       "train_data=" + write_pairs("train.jsonl", 12, 0), "val_data=" + write_pairs("val.jsonl", 4, 100),
       "learning_rate=1e-2", "num_epochs=3", "micro_batch_size=4", "sequence_len=64", "forgetting_gate=false",
       "early_stopping_patience=0"});
  const test::HeardRun heard = test::run_and_listen(c);
  const TrainRunResult& run = heard.result;
  EXPECT_TRUE(std::filesystem::exists(run.output + "/adapter_model.safetensors")) << run.output;
  const TrainConfig saved = load_train_config(dir + "/run/config.yaml", {});
  EXPECT_EQ(saved.rl, "dpo");
  EXPECT_DOUBLE_EQ(saved.rpo_alpha, 1.0);
  EXPECT_TRUE(heard.said_containing("reference: log-probabilities of 12 training"));
  const auto [steps, evals] = test::read_run_metrics(dir + "/run");
  ASSERT_EQ(steps.size(), 9u);  // 12 pairs, 4 per step, 3 epochs
  for (const char* key : {"rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy", "logps_chosen"})
    EXPECT_TRUE(steps.back().contains(key)) << key;
  ASSERT_GE(evals.size(), 2u);
  EXPECT_FALSE(evals.back().contains("val_perplexity"));  // a pair loss is not a token loss
  EXPECT_DOUBLE_EQ(evals.front().at("eval_rewards_margin").get<double>(), 0.0);  // the start is the reference
  EXPECT_GT(evals.back().at("eval_rewards_margin").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(evals.back().at("eval_rewards_accuracy").get<double>(), 1.0);
}

}  // namespace
}  // namespace whet
