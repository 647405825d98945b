// KTO on the engine: the loss, z₀ and the LoRA gradients of the tiny models'
// pair unpaired (chosen desirable, rejected undesirable, each the other's
// mismatched answer) against PyTorch autograd (tests/python/
// make_preference_gradients.py; relative 1e-4, as every gradient check); the
// mismatched sequences that z₀ is measured on; and a run through the trainer
// (`method: kto`) that makes desirable answers likelier than undesirable ones.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradient_checks.h"
#include "heard_run.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "run_metrics.h"
#include "test_support.h"
#include "train/kto_step.h"
#include "train/preference_step.h"
#include "train/trainer.h"

namespace whet {
namespace {

TEST(KtoStep, LossReferencePointAndLoraGradientsMatchAutograd) {
  for (const char* variant : {"gqa_tied", "untied_llama3"}) {
    SCOPED_TRACE(variant);
    const std::string dir = test::testdata_path(std::string("tiny/") + variant);
    const LoadedModel loaded = load_model(dir + "/hf");
    const nlohmann::json pair = nlohmann::json::parse(std::ifstream(dir + "/preference/pair.json"));
    const nlohmann::json want = nlohmann::json::parse(std::ifstream(dir + "/preference/kto.json"));
    const TrainingSequence chosen = test::read_training_sequence(pair.at("chosen")), rejected = test::read_training_sequence(pair.at("rejected"));
    const std::vector<KtoSequences> examples = {{chosen, rejected, true}, {rejected, chosen, false}};
    LlamaActivations acts(loaded.model.config, 32, 4);
    std::vector<ReferencedKto> referenced = kto_reference_logps(loaded.model, acts, examples);
    EXPECT_DOUBLE_EQ(referenced[0].ref_mismatched, referenced[1].ref);  // the same sequence
    for (ReferencedKto& r : referenced) r.ref_mismatched -= want.at("mismatched_ref_shift").get<double>();

    PreferenceSettings settings;
    settings.beta = want.at("beta");
    settings.kto_desirable_weight = want.at("desirable_weight");
    settings.kto_undesirable_weight = want.at("undesirable_weight");
    LlamaLora lora = load_peft_adapter(dir + "/gradients/lora", loaded.model.config);
    LlamaLora lora_grads = zeros_like(lora);
    TrainPass pass;
    pass.lora = &lora;
    pass.lora_grads = &lora_grads;
    const KtoMetrics m = kto_backward(loaded.model, pass, acts, referenced, settings);
    EXPECT_NEAR(m.kl, want.at("z0").get<double>(), 1e-4);
    EXPECT_GT(m.kl, 0.0);  // the shift puts z₀ above its clamp, so it counts
    EXPECT_NEAR(m.loss, want.at("loss").get<double>(), 1e-5);
    EXPECT_EQ(m.desirable, 1);
    EXPECT_EQ(m.undesirable, 1);
    test::expect_lora_grads(lora_grads, dir + "/preference/kto.safetensors", loaded.model.config.num_layers);
  }
}

// Each prompt is measured with the next example's answer; a prompt makes room
// (losing its first tokens) for an answer longer than its own.
TEST(KtoStep, MismatchedAnswersAreTheNextExamplesFitToLength) {
  std::vector<TokenizedUnpaired> examples = {{{1, 10, 11, 12}, {20, 21}, true},
                                             {{1, 30}, {40, 41, 42, 43}, false}};
  const std::vector<KtoSequences> s = kto_sequences(examples, 6, 1);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].answer.ids, (std::vector<int32_t>{1, 10, 11, 12, 20}));
  // Prompt 0 with answer 1 (4 tokens): 8 tokens do not fit 6 positions (7 tokens), so the prompt loses its first
  // token after BOS.
  EXPECT_EQ(s[0].mismatched.ids, (std::vector<int32_t>{1, 11, 12, 40, 41, 42}));
  EXPECT_EQ(s[0].mismatched.targets, (std::vector<int32_t>{-1, -1, 40, 41, 42, 43}));
  EXPECT_EQ(s[1].mismatched.ids, (std::vector<int32_t>{1, 30, 20}));
  EXPECT_TRUE(s[0].desirable);
  EXPECT_FALSE(s[1].desirable);
}

// Labelled answers on the tiny model through run_training, as `whet train
// --method kto` runs them: the run logs KTO's values, and the adapter makes the
// desirable answers likelier and the undesirable ones less likely than the base.
TEST(KtoTraining, ARunThroughTheTrainerLearnsItsLabels) {
  const std::string dir = test::scratch_dir("kto_run");
  auto write_examples = [&](const std::string& name, int count, int offset) {
    std::ofstream out(dir + "/" + name);
    for (int i = 0; i < count; ++i) {
      const std::string n = std::to_string((offset + i) % 5);
      const bool desirable = i % 2 == 0;
      out << nlohmann::json{{"prompt", {{{"role", "user"}, {"content", "the sea " + n}}}},
                            {"completion", {{{"role", "assistant"},
                                             {"content", desirable ? "the tin " + n : "the oak " + n + " is here"}}}},
                            {"label", desirable}}
                 .dump()
          << "\n";
    }
    return dir + "/" + name;
  };
  TrainConfig c = train_config_from_overrides(
      {"base_model=" + test::testdata_path("tiny/gqa_tied/hf"), "output_dir=" + dir + "/run", "method=kto",
       "train_data=" + write_examples("train.jsonl", 16, 0), "val_data=" + write_examples("val.jsonl", 6, 100),
       "learning_rate=1e-2", "num_epochs=3", "micro_batch_size=4", "sequence_len=64", "forgetting_gate=false",
       "early_stopping_patience=0"});
  const test::HeardRun heard = test::run_and_listen(c);
  const TrainRunResult& run = heard.result;
  ASSERT_TRUE(std::filesystem::exists(run.output + "/adapter_model.safetensors")) << run.output;
  EXPECT_EQ(load_train_config(dir + "/run/config.yaml", {}).rl, "kto");
  EXPECT_TRUE(heard.said_containing("reference: log-probabilities of 16 training"));
  const auto [steps, evals] = test::read_run_metrics(dir + "/run");
  ASSERT_EQ(steps.size(), 12u);  // 16 answers, 4 per step, 3 epochs
  EXPECT_TRUE(steps.back().contains("kl"));
  ASSERT_GE(evals.size(), 2u);
  EXPECT_DOUBLE_EQ(evals.front().at("eval_rewards_margin").get<double>(), 0.0);  // the start is the reference
  EXPECT_GT(evals.back().at("eval_rewards_chosen").get<double>(), 0.0);
  EXPECT_LT(evals.back().at("eval_rewards_rejected").get<double>(), 0.0);
  EXPECT_LT(evals.back().at("val_loss").get<double>(), evals.front().at("val_loss").get<double>());
}

}  // namespace
}  // namespace whet
