// The training config: defaults, every key read and dumped back, each kind of
// mistake reported with file, line and key, --set overrides, hostile YAML, and
// docs/config.md kept in step with the key table.
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "test_support.h"
#include "train/train_config.h"

namespace whet {
namespace {

// A fresh folder for the running test (kept apart from the ASan binary's).
std::string scratch() { return test::this_test_scratch("train_config_"); }

std::string write_config(std::string_view text) {
  const std::string path = scratch() + "/config.yaml";
  std::ofstream(path, std::ios::binary).write(text.data(), std::streamsize(text.size()));
  return path;
}

constexpr std::string_view kRequired = "output_dir: runs/a\ntrain_data: data/train.jsonl\n";

// The whet::Error message of loading `text` (with `overrides`), or "" when it loads.
std::string load_error(std::string_view text, const std::vector<std::string>& overrides = {}) {
  const std::string path = write_config(text);
  try {
    load_train_config(path, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Checks that the error for `text` names the file, the line and every part in `parts`.
void expect_error(std::string_view text, int line, std::initializer_list<std::string_view> parts) {
  const std::string message = load_error(text);
  ASSERT_FALSE(message.empty()) << "loaded without error:\n" << text;
  const std::string where = fmt::format("config.yaml:{}]", line);
  EXPECT_NE(message.find(where), std::string::npos) << "no '" << where << "' in: " << message;
  for (std::string_view part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "no '" << part << "' in: " << message;
  }
}

std::string overrides_error(const std::vector<std::string>& overrides) {
  try {
    train_config_from_overrides(overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(TrainConfig, MinimalFileTakesTheDefaults) {
  const TrainConfig c = load_train_config(write_config(kRequired), {});
  TrainConfig expected;
  expected.output_dir = "runs/a";
  expected.train_data = {"data/train.jsonl"};
  EXPECT_EQ(c, expected);
  EXPECT_EQ(c.method, TrainMethod::Lora);
  EXPECT_EQ(c.weights, "native");
  EXPECT_EQ(c.seed, 42);
  EXPECT_EQ(c.sequence_len, 512);
  // Keys not given are auto: the run decides them from the data (test_auto_settings.cpp).
  EXPECT_FALSE(c.sample_packing.has_value());
  EXPECT_EQ(c.lora_r, kAuto);
  EXPECT_EQ(c.lora_alpha, kAuto);
  EXPECT_DOUBLE_EQ(c.lora_dropout, 0.05);
  EXPECT_TRUE(c.lora_target_modules.empty());
  EXPECT_EQ(c.optimizer, OptimizerKind::AdamW);
  EXPECT_DOUBLE_EQ(c.learning_rate, kAuto);
  EXPECT_EQ(c.lr_scheduler, LrScheduler::Cosine);
  EXPECT_EQ(c.num_epochs, kAuto);
  EXPECT_EQ(c.micro_batch_size, kAuto);
  EXPECT_EQ(c.eval_steps, kAuto);
  EXPECT_EQ(c.early_stopping_patience, kAuto);
  EXPECT_EQ(c.max_steps, -1);
  EXPECT_EQ(c.freeze_first_n_blocks, -1);
  EXPECT_EQ(c.save_total_limit, 2);
}

TEST(TrainConfig, ReadsAnAxolotlStyleFile) {
  const TrainConfig c = load_train_config(write_config(R"(# a LoRA run
base_model: models/llama.gguf
output_dir: runs/support
method: lora
weights: bf16
train_data:
  - data/a.jsonl
  - data/b.jsonl
val_data: data/val.jsonl
data_format: chat
train_on_inputs: yes
sequence_len: 2048
sample_packing: False
lora_r: 8
lora_alpha: 16
lora_dropout: 0.1
lora_target_modules: [q_proj, v_proj, gate_proj, q]
learning_rate: 1e-4
warmup_ratio: 0.03
lr_scheduler: linear
max_steps: +1000
early_stopping_patience: 3
)"),
                                          {});
  EXPECT_EQ(c.base_model, "models/llama.gguf");
  EXPECT_EQ(c.weights, "bf16");
  EXPECT_EQ(c.train_data, (std::vector<std::string>{"data/a.jsonl", "data/b.jsonl"}));
  EXPECT_EQ(c.val_data, (std::vector<std::string>{"data/val.jsonl"}));
  EXPECT_EQ(c.data_format, DataFormat::Chat);
  EXPECT_TRUE(c.train_on_inputs);
  EXPECT_EQ(c.sample_packing, false);
  EXPECT_EQ(c.sequence_len, 2048);
  EXPECT_EQ(c.lora_target_modules, (std::vector<std::string>{"q", "v", "gate"}));
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-4);
  EXPECT_DOUBLE_EQ(c.warmup_ratio, 0.03);
  EXPECT_EQ(c.lr_scheduler, LrScheduler::Linear);
  EXPECT_EQ(c.max_steps, 1000);
  EXPECT_EQ(c.early_stopping_patience, 3);
}

TEST(TrainConfig, AllLinearMeansEveryMatrix) {
  const TrainConfig c = load_train_config(write_config(std::string(kRequired) + "lora_target_modules: all-linear\n"), {});
  EXPECT_EQ(c.lora_target_modules, (std::vector<std::string>{"q", "k", "v", "o", "gate", "up", "down"}));
}

TEST(TrainConfig, FreezeMethod) {
  const TrainConfig c = load_train_config(
      write_config(std::string(kRequired) + "method: freeze\ntrain_last_n_blocks: 4\ngradual_unfreeze_every_epoch: on\n"),
      {});
  EXPECT_EQ(c.method, TrainMethod::Freeze);
  EXPECT_EQ(c.train_last_n_blocks, 4);
  EXPECT_EQ(c.freeze_first_n_blocks, -1);
  EXPECT_TRUE(c.gradual_unfreeze_every_epoch);
}

// Every field away from its default, and strings YAML would otherwise read as something else.
TrainConfig unusual_config() {
  TrainConfig c;
  c.base_model = "weird \"model\" \\ path: #1\n\t - [x] &a *b !t % null ~ 模型";
  c.output_dir = "true";
  c.method = TrainMethod::Freeze;
  c.seed = 7;
  c.weights = "f32";
  c.threads = 3;
  c.train_data = {"null", "~", "12", "- x", " leading space", "a,b"};
  c.val_data = {"val.jsonl"};
  c.data_format = DataFormat::Alpaca;
  c.train_on_inputs = true;
  c.sequence_len = 4096;
  c.sample_packing = false;
  c.drop_long = true;
  c.strict = true;
  c.lora_r = 64;
  c.lora_alpha = 128;
  c.lora_dropout = 0.123456789012345;
  c.lora_target_modules = {"k", "up", "down"};
  c.use_rslora = true;
  c.freeze_embeddings = false;
  c.freeze_first_n_blocks = 10;
  c.train_norms = false;
  c.train_lm_head = true;
  c.gradual_unfreeze_every_steps = 50;
  c.optimizer = OptimizerKind::Sgd;
  c.learning_rate = 3.0000000000000004e-5;
  c.weight_decay = 0.01;
  c.adam_beta1 = 0.8;
  c.adam_beta2 = 0.95;
  c.adam_epsilon = 1e-12;
  c.momentum = 0.5;
  c.lr_scheduler = LrScheduler::Constant;
  c.warmup_steps = 10;
  c.num_epochs = 1;
  c.max_steps = 123;
  c.micro_batch_size = 4;
  c.gradient_accumulation_steps = 8;
  c.max_grad_norm = 0;
  c.eval_steps = 25;
  c.early_stopping_patience = 2;
  c.early_stopping_min_delta = 1e-3;
  c.l2sp_lambda = 0.25;
  c.ewc_fisher = "exact";
  c.ewc_samples = 7;
  c.ewc_data = "general: #1.jsonl";
  c.save_steps = 100;
  c.save_total_limit = 0;
  return c;
}

TEST(TrainConfig, DumpReadsBackEqual) {
  for (TrainConfig c : {unusual_config(), train_config_from_overrides({"output_dir=o", "train_data=t"})}) {
    const std::string dumped = dump_train_config(c);
    EXPECT_EQ(load_train_config(write_config(dumped), {}), c) << dumped;
    EXPECT_EQ(dump_train_config(load_train_config(write_config(dumped), {})), dumped);
  }
}

TEST(TrainConfig, DumpWritesEveryKey) {
  const std::string dumped = dump_train_config(unusual_config());
  for (const TrainConfigKey& key : train_config_keys()) {
    EXPECT_TRUE(contains(dumped, "\n" + std::string(key.name) + ": ")) << key.name;
  }
}

// --- Mistakes in a file: each names the file, the line and the key ---

TEST(TrainConfigErrors, WrongType) {
  expect_error(std::string(kRequired) + "learning_rate: [1, 2]\n", 3, {"learning_rate", "number > 0", "a list"});
  expect_error(std::string(kRequired) + "lora_r: abc\n", 3, {"lora_r", "integer >= 1", "'abc'"});
  expect_error(std::string(kRequired) + "\nsequence_len: 1.5\n", 4, {"sequence_len", "'1.5'"});
  expect_error(std::string(kRequired) + "sample_packing: maybe\n", 3, {"sample_packing", "true or false"});
  expect_error(std::string(kRequired) + "gradient_checkpointing: maybe\n", 3, {"gradient_checkpointing", "true, false or a number of blocks", "'maybe'"});
  expect_error(std::string(kRequired) + "gradient_checkpointing: -2\n", 3, {"gradient_checkpointing", "'-2'"});
  expect_error(std::string(kRequired) + "memory_budget_mib: 0\n", 3, {"memory_budget_mib", "integer >= 1", "'0'"});
  expect_error(std::string(kRequired) + "output_dir_x: 1\n", 3, {"output_dir_x"});
  expect_error("output_dir: {a: 1}\ntrain_data: t\n", 1, {"output_dir", "string", "a mapping"});
  expect_error("output_dir: o\ntrain_data:\n  - a.jsonl\n  - [b.jsonl]\n", 4, {"train_data", "a list"});
  expect_error("output_dir: o\ntrain_data:\n  - a.jsonl\n  - ''\n", 4, {"train_data", "''"});
  expect_error(std::string(kRequired) + "lora_r:\n", 3, {"lora_r", "got nothing"});
  expect_error(std::string(kRequired) + "seed: 99999999999\n", 3, {"seed", "99999999999"});
}

TEST(TrainConfigErrors, OutOfRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"learning_rate", "-1e-4"}, {"learning_rate", "0"},    {"lora_r", "0"},          {"lora_alpha", "-2"},
      {"lora_dropout", "1.0"},    {"sequence_len", "1"},     {"max_steps", "0"},       {"max_steps", "-2"},
      {"warmup_ratio", "1"},      {"adam_beta2", "1.0"},     {"adam_epsilon", "0"},    {"micro_batch_size", "0"},
      {"num_epochs", "0"},        {"threads", "-1"},         {"val_set_size", "-0.1"}, {"learning_rate", ".nan"},
      {"learning_rate", "1e999"}, {"freeze_first_n_blocks", "-3"},                     {"save_total_limit", "-1"},
  };
  for (const auto& [key, value] : cases) {
    SCOPED_TRACE(key + ": " + value);
    expect_error(std::string(kRequired) + key + ": " + value + "\n", 3, {key, value});
  }
}

TEST(TrainConfigErrors, UnknownChoiceListsTheAllowedOnes) {
  expect_error(std::string(kRequired) + "method: qlora\n", 3, {"method", "full, freeze, lora", "'qlora'"});
  expect_error(std::string(kRequired) + "lr_scheduler: cosin\n", 3,
               {"lr_scheduler", "constant, linear, cosine", "did you mean 'cosine'?"});
  expect_error(std::string(kRequired) + "weights: fp16\n", 3, {"weights", "native, f32, bf16"});
  expect_error(std::string(kRequired) + "data_format: sharegpt\n", 3, {"data_format", "auto, text, completion"});
  expect_error(std::string(kRequired) + "optimizer: adam\n", 3, {"optimizer", "did you mean 'adamw'?"});
  expect_error(std::string(kRequired) + "lora_target_modules:\n  - q\n  - mlp\n", 5,
               {"lora_target_modules", "q, k, v, o, gate, up, down", "'mlp'"});
  expect_error(std::string(kRequired) + "lora_target_modules: []\n", 3, {"lora_target_modules", "an empty list"});
}

TEST(TrainConfigErrors, UnknownKeySuggestsTheClosest) {
  expect_error(std::string(kRequired) + "lerning_rate: 1e-4\n", 3,
               {"unknown key 'lerning_rate'", "did you mean 'learning_rate'?"});
  expect_error(std::string(kRequired) + "Lora_R: 4\n", 3, {"'Lora_R'", "did you mean 'lora_r'?"});
  expect_error("output_dir: o\ndatasets:\n  - path: x\n", 2, {"'datasets'", "did you mean 'train_data'?"});
  expect_error(std::string(kRequired) + "banana: 1\n", 3, {"unknown key 'banana'", "--help-config"});
  EXPECT_FALSE(contains(load_error(std::string(kRequired) + "banana: 1\n"), "did you mean"));
}

TEST(TrainConfigErrors, DuplicateKey) {
  expect_error("output_dir: a\ntrain_data: t\noutput_dir: b\n", 3, {"duplicate key 'output_dir'", "line 1"});
}

TEST(TrainConfigErrors, TopLevelMustBeAMapping) {
  expect_error("- output_dir: a\n- train_data: t\n", 1, {"top level", "a list"});
  expect_error("just some words\n", 1, {"top level", "'just some words'"});
  expect_error("? [a, b]\n: 1\n", 1, {"keys are plain names"});
}

TEST(TrainConfigErrors, EmptyFile) {
  for (std::string_view text : {"", "\n\n", "# only a comment\n", "~\n"}) {
    const std::string message = load_error(text);
    EXPECT_TRUE(contains(message, "config.yaml] holds no settings")) << message;
  }
}

TEST(TrainConfigErrors, MissingRequiredKeys) {
  std::string message = load_error("train_data: t\n");
  EXPECT_TRUE(contains(message, "config.yaml] output_dir: required")) << message;
  message = load_error("output_dir: o\n");
  EXPECT_TRUE(contains(message, "config.yaml] train_data: required")) << message;
  expect_error("output_dir: ''\ntrain_data: t\n", 1, {"output_dir: required"});
  expect_error("output_dir: o\n\ntrain_data: []\n", 3, {"train_data: required"});
}

TEST(TrainConfigErrors, KeysThatExcludeEachOther) {
  expect_error(std::string(kRequired) + "warmup_steps: 10\nwarmup_ratio: 0.1\n", 4,
               {"warmup_ratio", "warmup_steps", "config.yaml:3"});
  expect_error(std::string(kRequired) + "val_data: v\nval_set_size: 0.1\n", 4, {"val_set_size", "val_data"});
  expect_error(std::string(kRequired) + "gradual_unfreeze_every_steps: 5\ngradual_unfreeze_every_epoch: true\n", 4,
               {"gradual_unfreeze_every_epoch", "gradual_unfreeze_every_steps"});
  expect_error(std::string(kRequired) + "method: freeze\nfreeze_first_n_blocks: 2\ntrain_last_n_blocks: 2\n", 5,
               {"train_last_n_blocks", "freeze_first_n_blocks"});
  expect_error(std::string(kRequired) + "method: freeze\n", 3,
               {"method", "freeze_first_n_blocks", "train_last_n_blocks"});
  expect_error(std::string(kRequired) + "early_stopping_patience: 3\n", 3, {"early_stopping_patience", "val_data"});
  expect_error(std::string(kRequired) + "metric_for_best_model: accuracy\n", 3, {"metric_for_best_model", "eval_task"});
  // A task metric may drive early stopping without validation data.
  EXPECT_EQ(load_error(std::string(kRequired) +
                       "eval_task: t.jsonl\nmetric_for_best_model: accuracy\nearly_stopping_patience: 2\n"),
            "");
  expect_error(std::string(kRequired) + "l2sp_lambda: 0.1\n", 3, {"l2sp_lambda", "method lora", "weight_decay"});
  expect_error(std::string(kRequired) + "method: full\ngradual_unfreeze_every_epoch: true\newc_lambda: 1\n", 5,
               {"ewc_lambda", "gradual unfreezing"});
  expect_error(std::string(kRequired) + "task_type: seq_cls\nmethod: full\nl2sp_lambda: 1\n", 5,
               {"l2sp_lambda", "seq_cls"});
  EXPECT_EQ(load_error(std::string(kRequired) + "method: full\nl2sp_lambda: 0.1\newc_lambda: 2\n"), "");
  // Zero is the default, so a dumped config (which writes both) is not a conflict.
  EXPECT_EQ(load_error(std::string(kRequired) + "warmup_steps: 0\nwarmup_ratio: 0.1\n"), "");
}

// Replay and distillation: the teacher is the base under a LoRA adapter, the
// default distill_on (replay) needs replay data, and a classification head has
// no language-model loss to defend.
TEST(TrainConfigErrors, ForgettingDefences) {
  expect_error(std::string(kRequired) + "method: full\nreplay_data: general\ndistill_weight: 1\n", 5,
               {"distill_weight", "method lora", "second copy"});
  expect_error(std::string(kRequired) + "replay_data: none\ndistill_weight: 0.5\n", 4,
               {"distill_weight", "replay_data is none", "distill_on: task"});
  // With replay_data auto, the rules turn replay on for distillation to use.
  EXPECT_EQ(load_error(std::string(kRequired) + "distill_weight: 0.5\n"), "");
  expect_error(std::string(kRequired) + "task_type: seq_cls\nreplay_data: general\n", 4, {"replay_data", "seq_cls"});
  expect_error(std::string(kRequired) + "replay_ratio: 0\n", 3, {"replay_ratio", "> 0"});
  expect_error(std::string(kRequired) + "distill_on: prompts\n", 3, {"distill_on", "replay, task, all"});
  EXPECT_EQ(load_error(std::string(kRequired) + "distill_weight: 0.5\ndistill_on: task\n"), "");
  EXPECT_EQ(load_error(std::string(kRequired) + "replay_data: general\ndistill_weight: 1\n"), "");
  // Replay alone works with every method.
  EXPECT_EQ(load_error(std::string(kRequired) + "method: full\nreplay_data: data/general.jsonl\n"), "");
}

// GRPO: a grader inline (kept as JSON, numbers as numbers) or by path, β auto,
// and the keys that do not go with it.
TEST(TrainConfig, GrpoKeys) {
  const TrainConfig inline_grader = load_train_config(
      write_config(std::string(kRequired) + "method: grpo\nnum_generations: 6\ngrader:\n  type: command\n"
                                            "  command: [python3, g.py]\n  timeout_seconds: 2.5\n"),
      {});
  EXPECT_EQ(inline_grader.rl, "grpo");
  EXPECT_EQ(inline_grader.method, TrainMethod::Lora);
  EXPECT_EQ(inline_grader.num_generations, 6);
  EXPECT_EQ(inline_grader.rl_beta, kAuto);
  EXPECT_EQ(inline_grader.grader.at("timeout_seconds"), 2.5);
  EXPECT_EQ(inline_grader.grader.at("command")[1], "g.py");
  // The dump reads back with the grader unchanged.
  const TrainConfig again = load_train_config(write_config(dump_train_config(inline_grader)), {});
  EXPECT_EQ(again, inline_grader);
  const TrainConfig by_path =
      load_train_config(write_config(std::string(kRequired) + "rl: grpo\ngrader: graders/sum.yaml\nrl_beta: 0\n"), {});
  EXPECT_EQ(by_path.grader, "graders/sum.yaml");
  EXPECT_EQ(by_path.rl_beta, 0.0);
}

TEST(TrainConfigErrors, Grpo) {
  expect_error(std::string(kRequired) + "rl: grpo\n", 3, {"grader: required for rl grpo"});
  expect_error(std::string(kRequired) + "grader: g.yaml\n", 3, {"grader:", "rl is none"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader: g.yaml\nval_set_size: 0.1\n", 5,
               {"val_set_size", "grpo does not evaluate held-out prompts"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader: g.yaml\nmax_completion_length: 4096\n", 5,
               {"max_completion_length", "no room for a prompt"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader: g.yaml\nnum_generations: 1\n", 5, {"num_generations"});
  expect_error(std::string(kRequired) + "rl: dpo\nrl_beta: 0\n", 4, {"rl_beta", "needs β > 0"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader: [a]\n", 4, {"grader", "a grader mapping or a file path"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader:\n  type: regex\n  type: regex\n", 6, {"given twice"});
  expect_error(std::string(kRequired) + "rl: grpo\ngrader: g.yaml\ndata_format: chat\n", 5,
               {"data_format: chat", "rl grpo reads prompts"});
  expect_error(std::string(kRequired) + "rl: dpo\ndata_format: prompt\n", 4, {"data_format: prompt", "only rl grpo"});
  expect_error(std::string(kRequired) + "data_format: prompt\n", 3, {"data_format: prompt", "rl is none"});
}

TEST(TrainConfigErrors, SyntaxErrorsAndSecondDocuments) {
  expect_error(std::string(kRequired) + "lora_r: [1, 2\n", 4, {"not valid YAML"});
  expect_error(std::string(kRequired) + "---\nlora_r: 4\n", 3, {"second YAML document"});
  EXPECT_EQ(load_error(std::string(kRequired) + "---\n"), "");
}

TEST(TrainConfigErrors, FileProblems) {
  const std::string dir = scratch();
  const auto error_of = [](const std::string& path) {
    try {
      load_train_config(path, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_TRUE(contains(error_of(dir + "/missing.yaml"), "missing.yaml] cannot open"));
  EXPECT_TRUE(contains(error_of(dir), "is a directory"));
  const std::string big = dir + "/big.yaml";
  std::ofstream(big) << "output_dir: " << std::string(2 << 20, 'x') << "\n";
  EXPECT_TRUE(contains(error_of(big), "is larger than"));
}

// --- Overrides ---

TEST(TrainConfigOverrides, ApplyAfterTheFile) {
  const std::string path = write_config(std::string(kRequired) + "lora_r: 8\nlearning_rate: 1e-4\n");
  const TrainConfig c = load_train_config(
      path, {"lora_r=32", "lora_target_modules=[q,v]", "train_data=[x.jsonl, y.jsonl]", "method=full", "base_model="});
  EXPECT_EQ(c.lora_r, 32);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-4);
  EXPECT_EQ(c.lora_target_modules, (std::vector<std::string>{"q", "v"}));
  EXPECT_EQ(c.train_data, (std::vector<std::string>{"x.jsonl", "y.jsonl"}));
  EXPECT_EQ(c.method, TrainMethod::Full);
  EXPECT_EQ(c.base_model, "");
}

TEST(TrainConfigOverrides, WithoutAFile) {
  const TrainConfig c = train_config_from_overrides({"output_dir=runs/x", "train_data=d.jsonl", "lora_r=4"});
  EXPECT_EQ(c.output_dir, "runs/x");
  EXPECT_EQ(c.train_data, std::vector<std::string>{"d.jsonl"});
  EXPECT_EQ(c.lora_r, 4);
  EXPECT_TRUE(contains(overrides_error({"train_data=d.jsonl"}), "[--set] output_dir: required"));
}

TEST(TrainConfigOverrides, BadOverridesNameTheFlag) {
  const std::vector<std::string> ok = {"output_dir=o", "train_data=t"};
  auto with = [&](std::string item) {
    std::vector<std::string> all = ok;
    all.push_back(std::move(item));
    return overrides_error(all);
  };
  EXPECT_TRUE(contains(with("lora_r=abc"), "[--set lora_r] lora_r: expected integer >= 1, got 'abc'"));
  EXPECT_TRUE(contains(with("lerning_rate=1"), "[--set lerning_rate] unknown key"));
  EXPECT_TRUE(contains(with("lerning_rate=1"), "did you mean 'learning_rate'?"));
  EXPECT_TRUE(contains(with("lora_r"), "[--set lora_r] expected key=value"));
  EXPECT_TRUE(contains(with("lora_target_modules=[q,"), "[--set lora_target_modules] lora_target_modules: value is not valid YAML"));
  EXPECT_TRUE(contains(with("lora_target_modules=[q,x]"), "[--set lora_target_modules]"));
  const std::string message = load_error(std::string(kRequired) + "warmup_steps: 5\n", {"warmup_ratio=0.1"});
  EXPECT_TRUE(contains(message, "[--set warmup_ratio] warmup_ratio: cannot be combined with warmup_steps (set at "))
      << message;
  EXPECT_TRUE(contains(message, "config.yaml:3")) << message;
}

// --- Hostile input: a clean whet::Error, never a crash or a hang ---

void expect_clean_error(std::string_view text) {
  EXPECT_THROW(load_train_config(write_config(text), {}), Error);
}

TEST(TrainConfigHostile, DeepNesting) {
  expect_clean_error("output_dir: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  expect_clean_error("output_dir: " + std::string(100000, '{'));
  std::string block;
  for (int depth = 0; depth < 3000; ++depth) block += std::string(depth, ' ') + "k:\n";
  expect_clean_error(block);
}

TEST(TrainConfigHostile, AliasBombs) {
  // Billion laughs: ten levels of ten aliases each; yaml-cpp shares aliased nodes instead of copying them.
  std::string bomb = "output_dir: o\nval_data: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level < 10; ++level) {
    bomb += fmt::format("x{}: &l{} [", level, level);
    for (int i = 0; i < 10; ++i) bomb += fmt::format("{}*l{}", i ? ", " : "", level - 1);
    bomb += "]\n";
  }
  const std::string message = load_error(bomb);
  EXPECT_TRUE(contains(message, "unknown key 'x1'")) << message;
  expect_error("output_dir: o\nval_data: &a [v.jsonl]\ntrain_data: [*a, *a]\n", 3, {"train_data", "a list"});
  expect_clean_error("output_dir: *undefined\n");
}

TEST(TrainConfigHostile, Tabs) {
  expect_error(std::string(kRequired) + "lora_r: 4\n\tlora_alpha: 8\n", 4, {"not valid YAML", "tab"});
  EXPECT_EQ(load_train_config(write_config(std::string(kRequired) + "lora_r:\t4\n"), {}).lora_r, 4);
}

TEST(TrainConfigHostile, BinaryGarbage) {
  std::mt19937 random(1234);
  for (int round = 0; round < 60; ++round) {
    std::string bytes(1 + random() % 4000, '\0');
    for (char& b : bytes) b = static_cast<char>(random());
    expect_clean_error(bytes);
  }
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  expect_clean_error(every_byte);
  expect_clean_error(",");  // loops forever in YAML::LoadAll (yaml-cpp #1040)
  expect_clean_error("output_dir: o\n---\n,\n");
  expect_clean_error("\xef\xbb\xbf\x00\x00\xff\xfe: \x01\n");
}

TEST(TrainConfigHostile, MegabyteScalars) {
  const std::string huge(1000000, 'a');
  expect_clean_error(huge);
  const std::string message = load_error(std::string(kRequired) + "lora_r: " + huge + "\n");
  EXPECT_TRUE(contains(message, "config.yaml:3] lora_r: expected integer >= 1, got 'aaaa")) << message.substr(0, 200);
  EXPECT_LT(message.size(), 300u);
  expect_error(std::string(kRequired) + huge + ": 1\n", 3, {"not valid YAML"});  // keys are at most 1024 characters
  const std::string key_message = load_error(std::string(kRequired) + std::string(1000, 'a') + ": 1\n");
  EXPECT_TRUE(contains(key_message, "config.yaml:3] unknown key 'aaaa")) << key_message;
  EXPECT_LT(key_message.size(), 300u);
  EXPECT_TRUE(contains(overrides_error({"output_dir=o", "train_data=t", "seed=" + huge}), "[--set seed] seed:"));
}

// --- The key table, the help text and docs/config.md ---

TEST(TrainConfigDocs, HelpListsEveryKey) {
  const std::string help = train_config_help();
  for (const TrainConfigKey& key : train_config_keys()) {
    EXPECT_TRUE(contains(help, fmt::format("  {}: {} (default {})", key.name, key.type, key.default_value)))
        << key.name;
  }
}

std::string read_docs() {
  std::ifstream in(test::source_path("docs/config.md"));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TrainConfigDocs, DocsHaveARowPerKeyWithTheTableTypeAndDefault) {
  const std::string docs = read_docs();
  ASSERT_FALSE(docs.empty());
  for (const TrainConfigKey& key : train_config_keys()) {
    const std::string row = fmt::format("| `{}` | {} | `{}` |", key.name, key.type, key.default_value);
    EXPECT_TRUE(contains(docs, row)) << "docs/config.md lacks the row start: " << row;
    EXPECT_TRUE(contains(docs, fmt::format("## {}\n", key.group))) << key.group;
  }
}

// The shipped examples read as they are (training them is the acceptance tests' job).
TEST(TrainConfigDocs, ExampleConfigsLoad) {
  for (const char* example : {"examples/tickets/config.yaml", "examples/tickets/head.yaml", "examples/zorblax/config.yaml",
                              "examples/json-sum/train.yaml"}) {
    SCOPED_TRACE(example);
    const TrainConfig c = load_train_config(test::source_path(example), {});
    EXPECT_FALSE(c.output_dir.empty());
    EXPECT_FALSE(c.train_data.empty());
  }
}

TEST(TrainConfigDocs, DocsExampleLoads) {
  const std::string docs = read_docs();
  const std::size_t begin = docs.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = docs.find("```\n", begin + 8);
  ASSERT_NE(end, std::string::npos);
  const TrainConfig c = load_train_config(write_config(docs.substr(begin + 8, end - begin - 8)), {});
  EXPECT_EQ(c.method, TrainMethod::Lora);
}

}  // namespace
}  // namespace whet
