// The auto rules at the three data sizes of the issue (ten facts, 200 labelled
// tickets, 5,000+ examples), explicit keys winning over them, and the resolved
// config reading back as the same run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.h"
#include "core/cpu_features.h"
#include "models/memory_estimate.h"
#include "models/model_loader.h"
#include "train/auto_settings.h"

namespace whet {
namespace {

TrainConfig from_flags(std::vector<std::string> overrides) {
  overrides.insert(overrides.begin(), {"output_dir=runs/x", "train_data=train.jsonl"});
  return train_config_from_overrides(overrides);
}

std::map<std::string, std::string> values(const std::vector<AutoDecision>& decisions) {
  std::map<std::string, std::string> out;
  for (const AutoDecision& d : decisions) {
    EXPECT_FALSE(d.reason.empty()) << d.key;
    out[d.key] = d.value;
  }
  return out;
}

TEST(AutoSettings, TenExamplesGetOneExamplePerStepAndManyEpochs) {
  TrainConfig c = from_flags({});
  const auto decided = values(resolve_auto_settings(c, DataShape{10, 556, false}));
  EXPECT_EQ(decided.size(), 11u);
  EXPECT_EQ(c.sample_packing, false);  // packed, ten examples made 2 sequences and 6 steps that learnt nothing
  EXPECT_EQ(c.lora_r, 8);
  EXPECT_EQ(c.lora_alpha, 16);
  EXPECT_EQ(c.lora_target_modules, (std::vector<std::string>{"q", "k", "v", "o", "gate", "up", "down"}));
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  EXPECT_EQ(c.num_epochs, 10);  // 100 example passes
  EXPECT_EQ(c.micro_batch_size, 1);
  EXPECT_EQ(c.eval_steps, 0);
  EXPECT_EQ(c.early_stopping_patience, 0);
  EXPECT_EQ(decided.at("learning_rate"), "0.001");
  EXPECT_EQ(decided.at("lora_target_modules"), "all-linear");
  EXPECT_EQ(c.replay_data, "general");  // defended by default
  EXPECT_DOUBLE_EQ(c.distill_weight, 1.0);
  EXPECT_EQ(auto_keys(c), (std::vector<std::string>{"memory_budget_mib", "gradient_checkpointing"}));
  resolve_memory_settings(c, MemoryShape{});
  EXPECT_TRUE(auto_keys(c).empty());
}

TEST(AutoSettings, TwoHundredExamplesWithValidationEvaluateSeveralTimesAndStopEarly) {
  TrainConfig c = from_flags({});
  resolve_auto_settings(c, DataShape{200, 9000, true});
  EXPECT_EQ(c.sample_packing, false);
  EXPECT_EQ(c.lora_r, 8);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  EXPECT_EQ(c.num_epochs, 3);
  EXPECT_EQ(c.micro_batch_size, 10);  // one example in 20 per step
  // 20 steps per epoch, 60 in all: an evaluation every 7 steps, 8 of them.
  EXPECT_EQ(c.eval_steps, 7);
  EXPECT_EQ(c.early_stopping_patience, 3);
}

TEST(AutoSettings, LargeDataPacksAndLetsValidationLossDecide) {
  TrainConfig c = from_flags({});
  // 5,000 examples of 50 tokens: 10 to a packed 512-token sequence.
  const auto decided = values(resolve_auto_settings(c, DataShape{5000, 250000, true}));
  EXPECT_EQ(c.sample_packing, true);
  EXPECT_EQ(c.lora_r, 16);
  EXPECT_EQ(c.lora_alpha, 32);
  EXPECT_DOUBLE_EQ(c.learning_rate, 5e-4);
  EXPECT_EQ(c.num_epochs, 3);
  EXPECT_EQ(c.micro_batch_size, 2);  // 16 examples per step
  EXPECT_EQ(c.eval_steps, 93);       // 250 steps per epoch, 750 in all
  EXPECT_EQ(c.early_stopping_patience, 3);
  EXPECT_NE(decided.at("num_epochs"), "");

  // More data: fewer epochs, at most 20,000 example passes and never under one epoch.
  for (const auto& [examples, epochs] : std::vector<std::pair<int64_t, int>>{{8000, 2}, {20000, 1}, {200000, 1}}) {
    TrainConfig big = from_flags({});
    resolve_auto_settings(big, DataShape{examples, examples * 50, true});
    EXPECT_EQ(big.num_epochs, epochs) << examples;
  }
}

TEST(AutoSettings, EpochsGrowForTinyDataUpToTen) {
  for (const auto& [examples, epochs] : std::vector<std::pair<int64_t, int>>{{1, 10}, {10, 10}, {20, 5}, {33, 4}, {34, 3}}) {
    TrainConfig c = from_flags({});
    resolve_auto_settings(c, DataShape{examples, examples * 40, false});
    EXPECT_EQ(c.num_epochs, epochs) << examples;
  }
}

// The seed tutorials fix three epochs on a handful of examples: too few example
// passes for 1e-3 to teach anything, so the rate rises in proportion, at most 3x.
TEST(AutoSettings, FewExamplePassesRaiseTheLoraRate) {
  for (const auto& [epochs, rate] : std::vector<std::pair<std::string, double>>{
           {"3", 3e-3}, {"5", 2e-3}, {"10", 1e-3}, {"20", 1e-3}, {"auto", 1e-3}, {"1", 3e-3}}) {
    TrainConfig c = from_flags({"num_epochs=" + epochs});
    const auto decided = values(resolve_auto_settings(c, DataShape{10, 556, false}));
    EXPECT_NEAR(c.learning_rate, rate, 1e-12) << epochs << " epochs: " << decided.at("learning_rate");
  }
  TrainConfig tickets = from_flags({"num_epochs=2"});  // 400 example passes: plenty
  resolve_auto_settings(tickets, DataShape{200, 9000, true});
  EXPECT_DOUBLE_EQ(tickets.learning_rate, 1e-3);
  TrainConfig full = from_flags({"method=full", "num_epochs=3"});  // measured for lora only
  resolve_auto_settings(full, DataShape{10, 556, false});
  EXPECT_DOUBLE_EQ(full.learning_rate, 5e-5);
}

TEST(AutoSettings, ExplicitKeysWin) {
  TrainConfig c = from_flags({"num_epochs=2", "learning_rate=1e-4", "lora_r=4", "sample_packing=true",
                              "lora_target_modules=[q,v]", "micro_batch_size=3", "eval_steps=0",
                              "early_stopping_patience=0", "replay_data=none", "distill_weight=0.5",
                              "distill_on=task"});
  const TrainConfig given = c;
  const auto decided = values(resolve_auto_settings(c, DataShape{10, 556, true}, 5.0));
  EXPECT_EQ(decided, (std::map<std::string, std::string>{{"lora_alpha", "8"}}));  // follows the given rank
  TrainConfig expected = given;
  expected.lora_alpha = 8;
  expected.rpo_alpha = 0;  // only dpo reads it: set without a decision to print
  expected.rl_beta = 0.1;  // the pair methods' β, a default rather than a decision
  EXPECT_EQ(c, expected);
}

TEST(AutoSettings, GrpoTakesNoKlByDefault) {
  TrainConfig c = from_flags({"rl=grpo", "grader=g.yaml"});
  const auto decided = values(resolve_auto_settings(c, DataShape{48, 2000, false}, 1.0));
  EXPECT_EQ(decided.at("rl_beta"), "0");
  EXPECT_EQ(c.rl_beta, 0.0);
  TrainConfig dpo = from_flags({"rl=dpo"});
  EXPECT_EQ(values(resolve_auto_settings(dpo, DataShape{48, 2000, false}, 1.0)).count("rl_beta"), 0u);
  EXPECT_EQ(dpo.rl_beta, 0.1);
}

TEST(AutoSettings, TheWordAutoIsTheSameAsNotSettingTheKey) {
  const TrainConfig written = from_flags({"num_epochs=auto", "learning_rate=auto", "sample_packing=auto",
                                          "lora_r=auto", "lora_alpha=auto", "lora_target_modules=auto",
                                          "micro_batch_size=auto", "eval_steps=auto", "early_stopping_patience=auto",
                                          "replay_data=auto", "distill_weight=auto", "gradient_checkpointing=auto",
                                          "memory_budget_mib=auto"});
  EXPECT_EQ(written, from_flags({}));
  EXPECT_EQ(auto_keys(written).size(), 13u);
  // An explicit value, then auto again: the later one wins, as for any key.
  EXPECT_EQ(from_flags({"num_epochs=4", "num_epochs=auto"}).num_epochs, kAuto);
}

TEST(AutoSettings, MultiplierScalesOnlyAnAutomaticLearningRate) {
  TrainConfig automatic = from_flags({});
  resolve_auto_settings(automatic, DataShape{10, 556, false}, 0.5);
  EXPECT_DOUBLE_EQ(automatic.learning_rate, 5e-4);
  TrainConfig given = from_flags({"learning_rate=3e-4"});
  resolve_auto_settings(given, DataShape{10, 556, false}, 0.5);
  EXPECT_DOUBLE_EQ(given.learning_rate, 3e-4);
}

TEST(AutoSettings, MethodsAndHeadsGetTheirOwnRates) {
  TrainConfig full = from_flags({"method=full"});
  resolve_auto_settings(full, DataShape{200, 9000, false});
  EXPECT_DOUBLE_EQ(full.learning_rate, 5e-5);
  TrainConfig head = from_flags({"task_type=seq_cls", "method=freeze", "train_last_n_blocks=0", "train_norms=false"});
  resolve_auto_settings(head, DataShape{200, 9000, false});
  EXPECT_DOUBLE_EQ(head.learning_rate, 1e-2);
  EXPECT_EQ(head.sample_packing, false);
}

// A defence is on unless there is no language model to defend: replay of the
// built-in corpus for every causal_lm run, distillation where the base is the
// adapter switched off; none and an explicit weight are kept.
TEST(AutoSettings, DefencesAgainstForgettingAreOnByDefault) {
  auto decide = [](std::vector<std::string> flags) {
    TrainConfig c = from_flags(std::move(flags));
    resolve_auto_settings(c, DataShape{200, 9000, false});
    return c;
  };
  const TrainConfig lora = decide({});
  EXPECT_EQ(lora.replay_data, "general");
  EXPECT_DOUBLE_EQ(lora.distill_weight, 1.0);
  const TrainConfig full = decide({"method=full"});
  EXPECT_EQ(full.replay_data, "general");
  EXPECT_DOUBLE_EQ(full.distill_weight, 0.0);  // no second copy of the model as teacher
  const TrainConfig head = decide({"task_type=seq_cls", "method=freeze", "train_last_n_blocks=0"});
  EXPECT_EQ(head.replay_data, "");
  EXPECT_DOUBLE_EQ(head.distill_weight, 0.0);
  const TrainConfig none = decide({"replay_data=none"});
  EXPECT_EQ(none.replay_data, "");
  EXPECT_DOUBLE_EQ(none.distill_weight, 0.0);  // nothing to distil on
  const TrainConfig on_task = decide({"replay_data=none", "distill_on=task"});
  EXPECT_DOUBLE_EQ(on_task.distill_weight, 1.0);
  const TrainConfig own = decide({"replay_data=data/general.jsonl", "distill_weight=0"});
  EXPECT_EQ(own.replay_data, "data/general.jsonl");
  EXPECT_DOUBLE_EQ(own.distill_weight, 0.0);
  // none and an empty value are one choice, written back as none.
  EXPECT_EQ(from_flags({"replay_data=\"\""}), from_flags({"replay_data=none"}));
  EXPECT_NE(dump_train_config(none).find("replay_data: \"none\"\n"), std::string::npos) << dump_train_config(none);
}

// Preference pairs: one pass, DPO with the chosen answers' loss, no supervised
// defences (the reference term holds the model).
TEST(AutoSettings, PreferenceRunsTakeOnePassAndRpo) {
  TrainConfig dpo = from_flags({"method=dpo"});
  resolve_auto_settings(dpo, DataShape{132, 20000, true});
  EXPECT_EQ(dpo.rl, "dpo");
  EXPECT_EQ(dpo.method, TrainMethod::Lora);
  EXPECT_EQ(dpo.num_epochs, 1);
  EXPECT_EQ(dpo.eval_steps, 5);  // 22 steps of 6 pairs, about 4 evaluations
  EXPECT_DOUBLE_EQ(dpo.rpo_alpha, 1.0);
  EXPECT_EQ(dpo.replay_data, "");
  EXPECT_DOUBLE_EQ(dpo.distill_weight, 0.0);
  TrainConfig orpo = from_flags({"rl=orpo"});
  resolve_auto_settings(orpo, DataShape{132, 20000, true});
  EXPECT_DOUBLE_EQ(orpo.rpo_alpha, 0.0);
  // A supervised run neither reads rpo_alpha nor hears about it.
  TrainConfig sft = from_flags({});
  for (const AutoDecision& d : resolve_auto_settings(sft, DataShape{132, 20000, true})) EXPECT_NE(d.key, "rpo_alpha");
  EXPECT_DOUBLE_EQ(sft.rpo_alpha, 0.0);
}

// config.yaml holds the resolved config: it reads back equal, with nothing left
// to decide, so `whet train run/config.yaml` repeats the run.
TEST(AutoSettings, ResolvedConfigReadsBackAsTheSameRun) {
  TrainConfig c = from_flags({"lora_r=4", "val_data=val.jsonl"});
  resolve_auto_settings(c, DataShape{200, 9000, true});
  resolve_memory_settings(c, MemoryShape{});
  const std::string dumped = dump_train_config(c);
  EXPECT_EQ(dumped.find("num_epochs: auto"), std::string::npos) << dumped;
  const std::string path = test::scratch_dir("auto_settings_round_trip") + "/config.yaml";
  std::ofstream(path) << dumped;
  TrainConfig again = load_train_config(path, {});
  EXPECT_EQ(again, c);
  EXPECT_TRUE(auto_keys(again).empty());
  EXPECT_TRUE(resolve_auto_settings(again, DataShape{200, 9000, true}).empty());

  // Before resolving, auto keys dump as auto and read back as auto.
  const TrainConfig unresolved = from_flags({});
  std::ofstream(path) << dump_train_config(unresolved);
  EXPECT_EQ(load_train_config(path, {}), unresolved);
  EXPECT_NE(dump_train_config(unresolved).find("num_epochs: auto\n"), std::string::npos);
}

TEST(AutoSettings, DecisionsPrintWithTheirReasons) {
  TrainConfig c = from_flags({});
  const std::vector<std::string> lines = describe_decisions(resolve_auto_settings(c, DataShape{10, 556, false}));
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[0].rfind("auto: sample_packing false (10 examples", 0), 0u) << lines[0];
  EXPECT_NE(lines[5].find("auto: num_epochs 10 ("), std::string::npos) << lines[5];
}

}  // namespace
}  // namespace whet

namespace whet {
namespace {

// gradient_checkpointing auto: the fewest checkpointed blocks whose estimate
// fits memory_budget_mib, said with the estimate and written back as a number
// that reads back as the same run; every block, said so, when nothing fits.
TEST(AutoSettings, CheckpointingIsTheFewestBlocksThatFitTheBudget) {
  const LoadedModel loaded = load_model(test::testdata_path("tiny/gqa_tied/hf"), WeightFormat::F32);
  LlamaConfig model = loaded.model.config;
  model.num_layers = 8;  // the estimate is arithmetic: room for a partial choice
  const MemoryShape shape{&model, weight_bytes(loaded.model), false, 0};
  const int64_t seq = 8192, mib = 1 << 20;
  const int64_t other = shape.weight_bytes + 16 * lora_parameter_count(model, 4);
  auto estimate = [&](int blocks) { return other + training_activation_bytes(model, seq, 4, blocks, false); };

  TrainConfig roomy = from_flags({"lora_r=4", "sequence_len=8192", "memory_budget_mib=100000"});
  EXPECT_EQ(values(resolve_memory_settings(roomy, shape)).at("gradient_checkpointing"), "false");
  EXPECT_EQ(roomy.gradient_checkpointing, 0);

  const int64_t budget_mib = estimate(4) / mib;
  TrainConfig tight = from_flags({"lora_r=4", "sequence_len=8192", fmt::format("memory_budget_mib={}", budget_mib)});
  const std::vector<AutoDecision> decided = resolve_memory_settings(tight, shape);
  ASSERT_EQ(decided.size(), 1u);
  const int k = tight.gradient_checkpointing;
  EXPECT_EQ(decided[0].value, std::to_string(k));
  EXPECT_GT(k, 0);
  EXPECT_LT(k, model.num_layers);
  EXPECT_LE(estimate(k), budget_mib * mib);
  EXPECT_GT(estimate(k - 1), budget_mib * mib);
  EXPECT_NE(decided[0].reason.find(fmt::format("the first {} of 8 blocks", k)), std::string::npos) << decided[0].reason;
  const std::string path = test::scratch_dir("auto_checkpointing_round_trip") + "/config.yaml";
  std::ofstream(path) << dump_train_config(tight);
  EXPECT_EQ(load_train_config(path, {}), tight);

  TrainConfig hopeless = from_flags({"lora_r=4", "sequence_len=8192", "memory_budget_mib=1"});
  const AutoDecision every = resolve_memory_settings(hopeless, shape).at(0);
  EXPECT_EQ(every.value, "true");
  EXPECT_EQ(hopeless.gradient_checkpointing, kEveryBlock);
  EXPECT_NE(every.reason.find("exceeds memory_budget_mib 1"), std::string::npos) << every.reason;
}

TEST(AutoSettings, MemoryBudgetIsAShareOfTheAvailableMemory) {
  TrainConfig c = from_flags({"gradient_checkpointing=true"});
  const auto decided = values(resolve_memory_settings(c, MemoryShape{nullptr, 0, false, int64_t(10) << 30}));
  EXPECT_EQ(decided.at("memory_budget_mib"), "8192");
  EXPECT_EQ(decided.count("gradient_checkpointing"), 0u);  // given: left alone
  EXPECT_EQ(c.gradient_checkpointing, kEveryBlock);
  EXPECT_EQ(from_flags({"gradient_checkpointing=false"}).gradient_checkpointing, 0);
  EXPECT_EQ(from_flags({"gradient_checkpointing=3"}).gradient_checkpointing, 3);
}

// weights: auto is the encoding that computes fastest here; the default (native) and an
// explicit encoding are left alone; a base that trains keeps fp32 masters, multiplied as auto says.
TEST(AutoSettings, AutoWeightsAreBf16WhereTheCpuHasBf16UnitsElseF32) {
  const std::string fastest = cpu_has_bf16_units() ? "bf16" : "f32";
  const std::string isa = cpu_description();
  EXPECT_EQ(cpu_has_bf16_units(), isa.find("AVX512_BF16") != std::string::npos || isa.find("AMX") != std::string::npos)
      << isa;
  EXPECT_EQ(weight_format_from_name("auto"), weight_format_from_name(fastest));
  TrainConfig lora = from_flags({"weights=auto"});
  EXPECT_EQ(auto_keys(lora).front(), "weights");
  EXPECT_EQ(values(resolve_weight_settings(lora)).at("weights"), fastest) << isa;
  EXPECT_EQ(lora.weights, fastest);
  // Full fine-tuning keeps f32 masters and multiplies them as the fastest encoding.
  TrainConfig full = from_flags({"weights=auto", "method=full"});
  EXPECT_EQ(values(resolve_weight_settings(full)).at("weights"), fastest) << isa;
  // ... but rl on a base that trains multiplies the masters its reference was computed on.
  TrainConfig aligned = from_flags({"weights=auto", "method=full", "rl=dpo"});
  EXPECT_EQ(values(resolve_weight_settings(aligned)).at("weights"), "f32");
  for (const std::string given : {"native", "bf16", "f32"}) {
    TrainConfig c = from_flags({"weights=" + given});
    EXPECT_TRUE(resolve_weight_settings(c).empty()) << given;
    EXPECT_EQ(c.weights, given);
  }
  EXPECT_THROW(from_flags({"weights=fp8"}), std::exception);
}

}  // namespace
}  // namespace whet
