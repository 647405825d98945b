// Reading, checking and writing TrainConfig. kTable below is the only list of
// keys: a key is one row (name, field with its limits, help, group), and the
// parser (io/yaml_config), the dump, the help text and the docs test all walk
// that row.
#include "train/train_config.h"

#include <algorithm>
#include <cctype>
#include <array>
#include <climits>
#include <functional>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "io/yaml_config.h"

namespace whet {
namespace {

using yaml::boolean;
using yaml::choice;
using yaml::integer;
using yaml::real;
using yaml::strings;
using yaml::text;

constexpr std::array<std::string_view, 3> kMethods = {"full", "freeze", "lora"};
constexpr std::array<std::string_view, 7> kPreferenceMethods = {"none", "dpo", "simpo", "orpo", "kto", "reward", "grpo"};
constexpr std::array<std::string_view, 9> kMethodWords = {"full", "freeze", "lora", "dpo", "simpo", "orpo", "kto",
                                                          "reward", "grpo"};
constexpr std::array<std::string_view, 4> kDpoLossTypes = {"sigmoid", "robust", "hinge", "ipo"};
constexpr std::array<std::string_view, 2> kOptimizers = {"adamw", "sgd"};
constexpr std::array<std::string_view, 3> kSchedulers = {"constant", "linear", "cosine"};
constexpr std::array<std::string_view, 4> kWeightFormats = {"native", "f32", "bf16", "auto"};
constexpr std::array<std::string_view, 2> kTaskTypes = {"causal_lm", "seq_cls"};
constexpr std::array<std::string_view, 2> kPoolings = {"last", "mean"};
constexpr std::array<std::string_view, 3> kContinualStrategies = {"sequential", "replay", "progressive"};
constexpr std::array<std::string_view, 2> kFisherKinds = {"empirical", "exact"};
constexpr std::array<std::string_view, 3> kDistillOn = {"replay", "task", "all"};
constexpr std::array<std::string_view, 7> kModules = {"q", "k", "v", "o", "gate", "up", "down"};
constexpr std::string_view kAllLinear = "all-linear";

// The module name in Whet's short form (q_proj -> q), or "" when unknown.
std::string_view module_name(std::string_view name) {
  if (name.ends_with("_proj")) name.remove_suffix(5);
  const auto it = std::find(kModules.begin(), kModules.end(), name);
  return it == kModules.end() ? std::string_view() : *it;
}

// Target modules: a list of short or Hugging Face names (or all-linear), kept
// in kModules order without repeats.
std::vector<std::string> read_modules(const yaml::Input& in) {
  const std::string one = fmt::format("one of {} or {}", yaml::join(kModules), kAllLinear);
  std::array<bool, kModules.size()> chosen{};
  auto choose = [&](const YAML::Node& item) {
    const std::string& name = in.scalar(item, one);
    if (name == kAllLinear) {
      chosen.fill(true);
      return;
    }
    const std::string_view m = module_name(name);
    if (m.empty()) in.reject(item, one, yaml::did_you_mean(name, kModules));
    chosen[std::find(kModules.begin(), kModules.end(), m) - kModules.begin()] = true;
  };
  if (in.node.IsSequence() && in.node.size() > 0) {
    for (const YAML::Node& item : in.node) choose(item);
  } else if (in.node.IsScalar()) {
    choose(in.node);
  } else {
    in.reject(in.node, "list of " + yaml::join(kModules) + "; or all-linear");
  }
  std::vector<std::string> modules;
  for (std::size_t i = 0; i < kModules.size(); ++i) {
    if (chosen[i]) modules.emplace_back(kModules[i]);
  }
  return modules;
}

yaml::Field<TrainConfig> modules(std::vector<std::string> TrainConfig::*member) {
  return {yaml::Custom{"list of " + yaml::join(kModules) + "; or all-linear"},
          [member](TrainConfig& c, const yaml::Input& in, yaml::Origins&) { c.*member = read_modules(in); },
          [member](const TrainConfig& c) { return yaml::yaml_list(c.*member, false); },
          [member](const TrainConfig& c) { return nlohmann::ordered_json(c.*member); }};
}

// --- Keys that also take `auto`: train/auto_settings.h decides them from the data ---

constexpr std::string_view kAutoWord = "auto";

// `field`, or the word auto: `is_auto` tells whether the config holds auto, `make_auto` puts it there.
yaml::Field<TrainConfig> or_auto(yaml::Field<TrainConfig> field, std::function<bool(const TrainConfig&)> is_auto,
                                 std::function<void(TrainConfig&)> make_auto) {
  field.kind = yaml::Custom{yaml::type_text(field.kind) + "; or auto"};
  field.read = [read = field.read, make_auto](TrainConfig& c, const yaml::Input& in, yaml::Origins& origins) {
    if (in.node.IsScalar() && in.node.Scalar() == kAutoWord) {
      make_auto(c);
    } else {
      read(c, in, origins);
    }
  };
  field.yaml = [yaml = field.yaml, is_auto](const TrainConfig& c) {
    return is_auto(c) ? std::string(kAutoWord) : yaml(c);
  };
  field.json = [json = field.json, is_auto](const TrainConfig& c) {
    return is_auto(c) ? nlohmann::ordered_json(kAutoWord) : json(c);
  };
  return field;
}

// A number whose auto is kAuto.
template <typename T>
yaml::Field<TrainConfig> auto_number(T TrainConfig::*member, yaml::Field<TrainConfig> field) {
  return or_auto(
      std::move(field), [member](const TrainConfig& c) { return c.*member == kAuto; },
      [member](TrainConfig& c) { c.*member = kAuto; });
}

yaml::Field<TrainConfig> auto_integer(int TrainConfig::*member, yaml::Integer limits) {
  return auto_number(member, integer(member, limits));
}

yaml::Field<TrainConfig> auto_real(double TrainConfig::*member, yaml::Real limits) {
  return auto_number(member, real(member, limits));
}

yaml::Field<TrainConfig> auto_modules() {
  return or_auto(
      modules(&TrainConfig::lora_target_modules),
      [](const TrainConfig& c) { return c.lora_target_modules.empty(); },
      [](TrainConfig& c) { c.lora_target_modules.clear(); });
}

yaml::Field<TrainConfig> auto_packing() {
  yaml::Field<TrainConfig> flag = {
      yaml::Boolean{},
      [](TrainConfig& c, const yaml::Input& in, yaml::Origins&) { c.sample_packing = yaml::read_boolean(in); },
      [](const TrainConfig& c) { return std::string(*c.sample_packing ? "true" : "false"); },
      [](const TrainConfig& c) { return nlohmann::ordered_json(*c.sample_packing); }};
  return or_auto(
      std::move(flag), [](const TrainConfig& c) { return !c.sample_packing.has_value(); },
      [](TrainConfig& c) { c.sample_packing.reset(); });
}

// gradient_checkpointing: true (every block), false (none), the number of blocks
// (the first ones; what auto decides, written back so a repeat is exact), or auto.
yaml::Field<TrainConfig> auto_checkpointing() {
  auto written = [](const TrainConfig& c) {
    return c.gradient_checkpointing == kEveryBlock ? nlohmann::ordered_json(true)
           : c.gradient_checkpointing == 0         ? nlohmann::ordered_json(false)
                                                   : nlohmann::ordered_json(c.gradient_checkpointing);
  };
  yaml::Field<TrainConfig> blocks = {
      yaml::Custom{"true (every block), false, or a number of blocks"},
      [](TrainConfig& c, const yaml::Input& in, yaml::Origins&) {
        const std::string expected = "true, false or a number of blocks";
        const std::string& word = in.scalar(in.node, expected);
        if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) {
          c.gradient_checkpointing = int(yaml::read_integer(in, {0, kEveryBlock}));
          return;
        }
        try {
          c.gradient_checkpointing = yaml::read_boolean(in) ? kEveryBlock : 0;
        } catch (const Error&) {
          in.reject(in.node, expected);  // naming the number too, which read_boolean's message would not
        }
      },
      [written](const TrainConfig& c) { return written(c).dump(); },
      written};
  return or_auto(
      std::move(blocks), [](const TrainConfig& c) { return c.gradient_checkpointing == kAuto; },
      [](TrainConfig& c) { c.gradient_checkpointing = kAuto; });
}

// replay_data: a source, none (or empty) for no replay, or auto.
yaml::Field<TrainConfig> auto_replay() {
  auto written = [](const TrainConfig& c) { return c.replay_data->empty() ? std::string(kNoReplay) : *c.replay_data; };
  yaml::Field<TrainConfig> source = {
      yaml::Text{},
      [](TrainConfig& c, const yaml::Input& in, yaml::Origins&) {
        const std::string given = yaml::read_text(in);
        c.replay_data = given == kNoReplay ? "" : given;
      },
      [written](const TrainConfig& c) { return yaml::yaml_quoted(written(c)); },
      [written](const TrainConfig& c) { return nlohmann::ordered_json(written(c)); }};
  return or_auto(
      std::move(source), [](const TrainConfig& c) { return !c.replay_data.has_value(); },
      [](TrainConfig& c) { c.replay_data.reset(); });
}

// method: what trains (full, freeze, lora), or a preference method (dpo, simpo,
// orpo, kto, reward) as the jobs API's method.type and `whet train --method dpo` name it:
// that is rl with a LoRA adapter, written back as the two keys.
yaml::Field<TrainConfig> method_or_preference() {
  yaml::Field<TrainConfig> field = choice(&TrainConfig::method, kMethods);
  field.kind = yaml::Choice{kMethodWords};
  field.read = [](TrainConfig& c, const yaml::Input& in, yaml::Origins&) {
    const size_t index = yaml::read_choice(in, yaml::Choice{kMethodWords});
    if (index < kMethods.size()) {
      c.method = static_cast<TrainMethod>(index);
    } else {
      c.method = TrainMethod::Lora;
      c.rl = std::string(kMethodWords[index]);
    }
  };
  return field;
}

// grader: an inline grader object (a mapping, kept as JSON) or the path of a
// grader file. Its contents are checked when the run starts (eval/grader.h),
// where a file's errors can name the file.
yaml::Field<TrainConfig> grader_field() {
  return {yaml::Custom{"a grader (mapping) or the path of a grader file"},
          [](TrainConfig& c, const yaml::Input& in, yaml::Origins&) {
            if (in.node.IsScalar()) {
              c.grader = yaml::read_text(in);
            } else if (in.node.IsMap()) {
              c.grader = yaml::yaml_to_json(in.node, in.file.empty() ? "--set" : in.file);
            } else {
              in.reject(in.node, "a grader mapping or a file path");
            }
          },
          // JSON is YAML: an inline grader dumps as a flow mapping, a path as a quoted string.
          [](const TrainConfig& c) { return c.grader.dump(); },
          [](const TrainConfig& c) { return nlohmann::ordered_json::parse(c.grader.dump()); }};
}

// --- Checks across keys, after the file and the overrides ---

// train_data, or a task sequence with one evaluation file per stage.
void check_task_sequence(const TrainConfig& c, const yaml::Scope& scope) {
  if (c.task_sequence.empty()) {
    if (c.train_data.empty()) fail(scope.where("train_data"), "train_data: required but not set (a file or a list of files)");
    return;
  }
  if (!c.train_data.empty()) {
    fail(scope.where("task_sequence"), "task_sequence: cannot be combined with train_data (set at {}); each stage's "
         "file is its training data", scope.where("train_data"));
  }
  if (c.task_sequence_eval.size() != c.task_sequence.size()) {
    fail(scope.where("task_sequence_eval"), "task_sequence_eval: needs one task file per stage of task_sequence "
         "({} stages), got {}", c.task_sequence.size(), c.task_sequence_eval.size());
  }
  if (c.continual_strategy == "progressive" && c.method != TrainMethod::Lora) {
    fail(scope.where("continual_strategy"), "continual_strategy: progressive stacks adapters and needs method lora");
  }
}

// EWC and L2-SP anchor the parameters of the language model as they start.
void check_anchor_penalties(const TrainConfig& c, const yaml::Scope& scope) {
  const bool ewc = c.ewc_lambda > 0, l2sp = c.l2sp_lambda > 0;
  if (l2sp && c.method == TrainMethod::Lora) {
    fail(scope.where("l2sp_lambda"),
         "l2sp_lambda: method lora trains an adapter whose update B*A starts at 0, so L2-SP would be weight decay "
         "on A and B; use weight_decay, or ewc_lambda, which weighs the adapter by the Fisher");
  }
  for (const auto& [key, on] : {std::pair{"ewc_lambda", ewc}, std::pair{"l2sp_lambda", l2sp}}) {
    if (on && c.task_type == "seq_cls")
      fail(scope.where(key), "{}: anchors the language model's weights; task_type seq_cls trains a classification "
                             "head instead (set {} to 0)", key, key);
  }
  if (ewc && (c.gradual_unfreeze_every_steps > 0 || c.gradual_unfreeze_every_epoch)) {
    fail(scope.where("ewc_lambda"),
         "ewc_lambda: the Fisher is estimated over the weights that train at the start, so it cannot cover blocks "
         "that gradual unfreezing releases later; train those blocks from the start, or use l2sp_lambda");
  }
}

// Replay and distillation train the language-model head, distillation against the base with the adapter off.
void check_replay_and_distillation(const TrainConfig& c, const yaml::Scope& scope) {
  const bool replay = replays(c), distill = c.distill_weight > 0;  // auto decides a consistent pair
  if ((replay || distill) && c.task_type == "seq_cls") {
    fail(scope.where(replay ? "replay_data" : "distill_weight"),
         "{}: replay and distillation train the language-model head; task_type seq_cls has none",
         replay ? "replay_data" : "distill_weight");
  }
  if (distill && c.method != TrainMethod::Lora) {
    fail(scope.where("distill_weight"),
         "distill_weight: distillation needs method lora, whose base (the adapter off) is the teacher; full and "
         "freeze runs change the base and would need a second copy of the model");
  }
  if (distill && c.distill_on != "task" && c.replay_data && !replay) {
    fail(scope.where("distill_weight"),
         "distill_weight: distill_on {} distils replay tokens, but replay_data is none; set replay_data: "
         "general, or distill_on: task", c.distill_on);
  }
}

// Preference methods train a language model's completions on pairs.
void check_preference(const TrainConfig& c, const yaml::Scope& scope) {
  if (!aligns(c)) return;
  if (c.task_type == "seq_cls" && !trains_reward_model(c))
    fail(scope.where("rl"), "rl: {} trains the language model on preference pairs; task_type seq_cls has no "
                            "completions to prefer", c.rl);
  if (!c.task_sequence.empty())
    fail(scope.where("rl"), "rl: a task sequence trains supervised stages; train the preference stage on its own");
  if (replays(c) || c.distill_weight > 0 || c.ewc_lambda > 0 || c.l2sp_lambda > 0)
    fail(scope.where("rl"), "rl: {} is not combined with the supervised defences (replay, distillation, EWC, "
                            "L2-SP): its reference model holds the policy near its start", c.rl);
  if (!samples_online(c) && c.rl_beta == 0)
    fail(scope.where("rl_beta"), "rl_beta: {} needs β > 0 (0 is for grpo, meaning no KL term)", c.rl);
}

// GRPO samples completions of prompts and needs something to score them.
void check_grpo(const TrainConfig& c, const yaml::Scope& scope) {
  const bool has_grader = !(c.grader.is_string() && c.grader.get<std::string>().empty());
  if (!samples_online(c) && c.data_format == DataFormat::Prompt)
    fail(scope.where("data_format"), "data_format: prompt reads prompts without answers, which only rl grpo trains "
                                     "on, but rl is {}", c.rl);
  if (samples_online(c) && c.data_format != DataFormat::Auto && c.data_format != DataFormat::Prompt)
    fail(scope.where("data_format"), "data_format: {} reads answers, and rl grpo reads prompts (auto or prompt)",
         data_format_name(c.data_format));
  if (!samples_online(c)) {
    if (has_grader) fail(scope.where("grader"), "grader: scores sampled completions for rl: grpo, but rl is {}", c.rl);
    if (c.reward_target > 0)
      fail(scope.where("reward_target"), "reward_target: judges grpo's rollout rewards, but rl is {}", c.rl);
    return;
  }
  if (!has_grader) fail(scope.where("rl"), "grader: required for rl grpo (a grader object or a grader file)");
  if (!c.val_data.empty() || c.val_set_size > 0)
    fail(scope.where(c.val_data.empty() ? "val_set_size" : "val_data"),
         "{}: grpo does not evaluate held-out prompts yet; score them with whet eval", c.val_data.empty() ? "val_set_size" : "val_data");
  if (c.max_completion_length >= c.sequence_len)
    fail(scope.where("max_completion_length"), "max_completion_length: {} leaves no room for a prompt in sequence_len {}",
         c.max_completion_length, c.sequence_len);
}

void check_combinations(const TrainConfig& c, const yaml::Scope& scope) {
  check_task_sequence(c, scope);
  check_preference(c, scope);
  check_grpo(c, scope);
  auto exclusive = [&](std::string_view a, bool a_set, std::string_view b, bool b_set, std::string_view advice) {
    if (a_set && b_set) {
      fail(scope.where(b), "{}: cannot be combined with {} (set at {}); {}", b, a, scope.where(a), advice);
    }
  };
  exclusive("warmup_steps", c.warmup_steps > 0, "warmup_ratio", c.warmup_ratio > 0, "set one of them");
  exclusive("val_data", !c.val_data.empty(), "val_set_size", c.val_set_size > 0,
            "validation data comes from a file or from a share of train_data, not both");
  exclusive("gradual_unfreeze_every_steps", c.gradual_unfreeze_every_steps > 0, "gradual_unfreeze_every_epoch",
            c.gradual_unfreeze_every_epoch, "unfreeze by steps or by epochs");
  if (c.method == TrainMethod::Freeze) {
    const bool first = c.freeze_first_n_blocks >= 0, last = c.train_last_n_blocks >= 0;
    exclusive("freeze_first_n_blocks", first, "train_last_n_blocks", last, "method freeze takes one of them");
    if (!first && !last) {
      fail(scope.where("method"),
           "method: freeze needs freeze_first_n_blocks or train_last_n_blocks to say which blocks train");
    }
  }
  check_anchor_penalties(c, scope);
  check_replay_and_distillation(c, scope);
  const bool by_loss = c.metric_for_best_model == "val_loss";
  if (!by_loss && c.eval_task.empty()) {
    fail(scope.where("metric_for_best_model"),
         "metric_for_best_model: {} is a task metric; set eval_task to a task file", c.metric_for_best_model);
  }
  if (c.early_stopping_patience > 0 && by_loss && c.val_data.empty() && c.val_set_size == 0) {
    fail(scope.where("early_stopping_patience"),
         "early_stopping_patience: needs validation data (val_data or val_set_size), or eval_task with "
         "metric_for_best_model");
  }
}

constexpr std::string_view kRun = "Run", kData = "Data", kLora = "LoRA", kFreezing = "Freezing (method freeze)",
                           kOptimiser = "Optimiser", kSchedule = "Schedule", kLoop = "Loop",
                           kEvaluation = "Evaluation and stopping", kDefences = "Forgetting defences",
                           kCheckpoints = "Checkpoints", kGate = "Gate", kContinual = "Continual learning",
                           kPreference = "Preference alignment",
                           kGrpo = "GRPO";

// Axolotl and Hugging Face spellings of keys Whet names differently.
constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kOtherSpellings = {{
    {"datasets", "train_data"},
    {"test_datasets", "val_data"},
    {"adapter", "method"},
    {"lora_target_linear", "lora_target_modules"},
    {"lora_rank", "lora_r"},
    {"lr", "learning_rate"},
    {"optim", "optimizer"},
    {"lr_scheduler_type", "lr_scheduler"},
    {"epochs", "num_epochs"},
    {"num_train_epochs", "num_epochs"},
    {"batch_size", "micro_batch_size"},
    {"per_device_train_batch_size", "micro_batch_size"},
    {"max_seq_length", "sequence_len"},
}};

using C = TrainConfig;
const yaml::Table<TrainConfig> kTable(
    {
    {"base_model", text(&C::base_model),
     "GGUF file or Hugging Face model directory to start from; empty: the default model (SmolLM2-135M-Instruct)", kRun},
    {"output_dir", text(&C::output_dir),
     "Run folder: checkpoints, logs, this config as resolved, and the final model", kRun, true},
    {"method", method_or_preference(),
     "full: train every weight (f32 master copies); freeze: train some blocks, freeze the rest; "
     "lora: train low-rank adapters on a frozen base; dpo, simpo, orpo, kto or reward: that rl method with lora", kRun},
    {"seed", integer(&C::seed, {0}),
     "Seed for shuffling, dropout, adapter initialisation and the exact Fisher's label draws", kRun},
    {"weights", choice(&C::weights, kWeightFormats),
     "How the frozen base is held for lora: native (as stored in the file, decoded on use), f32 or bf16. "
     "full and freeze train f32 masters; with bf16 they multiply a bf16 copy of them, which the optimiser rounds them "
     "into as it updates them", kRun},
    {"threads", integer(&C::threads, {0}),
     "Worker threads; 0: all cores", kRun},
    {"gradient_checkpointing", auto_checkpointing(),
     "Activation checkpointing of whole blocks: keep only each block's input through the forward and recompute "
     "its activations in the backward (one more forward of each checkpointed block, the same gradients "
     "bit for bit); true: every block, a number: the first that many; auto: the fewest that fit memory_budget_mib", kRun},
    {"memory_budget_mib", auto_integer(&C::memory_budget_mib, {1}),
     "Memory the run may use, in MiB, as estimated from the model, sequence_len and what trains; "
     "gradient_checkpointing auto checkpoints blocks until the estimate fits; auto: 80% of the memory "
     "available when the run starts (MemAvailable)", kRun},
    {"task_type", choice(&C::task_type, kTaskTypes),
     "causal_lm: learn to continue text; seq_cls: learn a classification head on {\"prompt\" or \"messages\", "
     "\"label\"} lines (with method freeze, train_last_n_blocks 0 and train_norms false, only the head trains)", kRun},
    {"pooling", choice(&C::pooling, kPoolings),
     "seq_cls and rl reward: what the head reads, the last token's hidden state (last) or the mean over the tokens (mean)", kRun},

    {"train_data", strings(&C::train_data, {"path"}),
     "Training data: a file or a list of files; required unless task_sequence is set", kData},
    {"val_data", strings(&C::val_data, {"path"}),
     "Validation data: a file or a list of files; empty: none", kData},
    {"val_set_size", real(&C::val_set_size, {0, false, 1}),
     "Fraction of train_data held back for validation (instead of val_data); 0: none", kData},
    {"data_format", choice(&C::data_format, kDataFormatNames),
     "How records are read: auto (detected per line), text (plain text), completion (prompt and completion), "
     "chat (messages), alpaca (instruction, input, output), preference (a prompt with chosen and rejected "
     "answers, for rl), kto (a prompt, a completion and a true/false label), prompt (a prompt alone, for rl grpo)",
     kData},
    {"train_on_inputs", boolean(&C::train_on_inputs),
     "Also take the loss on prompts and user turns, not only on the answers", kData},
    {"sequence_len", integer(&C::sequence_len, {2}),
     "Longest training sequence, in tokens", kData},
    {"sample_packing", auto_packing(),
     "Pack several short examples into one sequence, so less compute goes to padding; auto: off below 2,000 "
     "examples (an example per sequence, so every step counts examples), on from there", kData},
    {"drop_long", boolean(&C::drop_long),
     "Drop examples longer than sequence_len instead of truncating them", kData},
    {"strict", boolean(&C::strict),
     "Stop at the first malformed record instead of skipping it with a warning", kData},

    {"lora_r", auto_integer(&C::lora_r, {1}),
     "Adapter rank; auto: 8 below 2,000 examples, 16 from there", kLora},
    {"lora_alpha", auto_integer(&C::lora_alpha, {1}),
     "Adapter scale: updates are multiplied by lora_alpha / lora_r; auto: 2 * lora_r", kLora},
    {"lora_dropout", real(&C::lora_dropout, {0, false, 1}),
     "Dropout on the adapter input while training", kLora},
    {"lora_target_modules", auto_modules(),
     "Matrices that get adapters: a list of q, k, v, o, gate, up, down (q_proj ... down_proj also read), "
     "or all-linear for all seven; auto: all-linear", kLora},
    {"use_rslora", boolean(&C::use_rslora),
     "Rank-stabilised scale lora_alpha / sqrt(lora_r)", kLora},
    {"lora_model_dir", text(&C::lora_model_dir),
     "A PEFT adapter to continue training; its rank, alpha and targets replace the lora_ keys", kLora},

    {"freeze_embeddings", boolean(&C::freeze_embeddings),
     "Keep the token embeddings frozen", kFreezing},
    {"freeze_first_n_blocks", integer(&C::freeze_first_n_blocks, {0, INT_MAX, true}),
     "Freeze the first N transformer blocks and train the others; set this or train_last_n_blocks", kFreezing},
    {"train_last_n_blocks", integer(&C::train_last_n_blocks, {0, INT_MAX, true}),
     "Train only the last N transformer blocks; set this or freeze_first_n_blocks", kFreezing},
    {"train_norms", boolean(&C::train_norms),
     "Train the RMSNorm weights of the trained blocks and the final norm", kFreezing},
    {"train_lm_head", boolean(&C::train_lm_head),
     "Train the output projection (LM head)", kFreezing},
    {"gradual_unfreeze_every_steps", integer(&C::gradual_unfreeze_every_steps, {0}),
     "Unfreeze one more block, working downwards, every N optimiser steps; 0: off", kFreezing},
    {"gradual_unfreeze_every_epoch", boolean(&C::gradual_unfreeze_every_epoch),
     "Unfreeze one more block, working downwards, at the start of each epoch after the first", kFreezing},

    {"optimizer", choice(&C::optimizer, kOptimizers),
     "adamw (decoupled weight decay) or sgd (with momentum)", kOptimiser},
    {"learning_rate", auto_real(&C::learning_rate, {0, true}),
     "Peak learning rate; auto: by method and data size (docs/training.md, \"Automatic settings\")", kOptimiser},
    {"weight_decay", real(&C::weight_decay, {0, false}),
     "Weight decay (decoupled from the gradient for adamw)", kOptimiser},
    {"adam_beta1", real(&C::adam_beta1, {0, false, 1}),
     "AdamW decay of the gradient average", kOptimiser},
    {"adam_beta2", real(&C::adam_beta2, {0, false, 1}),
     "AdamW decay of the squared-gradient average", kOptimiser},
    {"adam_epsilon", real(&C::adam_epsilon, {0, true}),
     "AdamW term added to the denominator", kOptimiser},
    {"momentum", real(&C::momentum, {0, false, 1}),
     "SGD momentum; 0: plain SGD", kOptimiser},

    {"lr_scheduler", choice(&C::lr_scheduler, kSchedulers),
     "Learning rate after warmup: constant, linear decay to 0, or cosine decay to 0", kSchedule},
    {"warmup_steps", integer(&C::warmup_steps, {0}),
     "Optimiser steps of linear warmup from 0; set this or warmup_ratio", kSchedule},
    {"warmup_ratio", real(&C::warmup_ratio, {0, false, 1}),
     "Warmup as a fraction of all optimiser steps; set this or warmup_steps", kSchedule},

    {"num_epochs", auto_integer(&C::num_epochs, {1}),
     "Passes over the training data; auto: enough for about 100 example passes (at most 10 epochs), 3 "
     "for mid-sized data, fewer above 5,000 examples", kLoop},
    {"max_steps", integer(&C::max_steps, {1, INT_MAX, true}),
     "Stop after this many optimiser steps, even mid-epoch; -1: num_epochs decides", kLoop},
    {"micro_batch_size", auto_integer(&C::micro_batch_size, {1}),
     "Sequences per forward and backward pass; auto: about one example in 20 per step, 1 to 16 examples", kLoop},
    {"gradient_accumulation_steps", integer(&C::gradient_accumulation_steps, {1}),
     "Micro-batches per optimiser step; the effective batch is micro_batch_size times this", kLoop},
    {"max_grad_norm", real(&C::max_grad_norm, {0, false}),
     "Clip the norm of all gradients together to this; 0: no clipping", kLoop},

    {"eval_steps", auto_integer(&C::eval_steps, {0}),
     "Evaluate on the validation data every N optimiser steps; 0: at the end of each epoch; auto: about "
     "8 evaluations over the run", kEvaluation},
    {"early_stopping_patience", auto_integer(&C::early_stopping_patience, {0}),
     "Stop after N evaluations without improvement (needs validation data) and keep the best outputs as the "
     "run's output; 0: off; auto: 3 with validation data, else off", kEvaluation},
    {"early_stopping_min_delta", real(&C::early_stopping_min_delta, {0, false}),
     "Smallest change of metric_for_best_model that counts as an improvement", kEvaluation},
    {"eval_task", text(&C::eval_task),
     "Task file (docs/eval.md) scored at every evaluation, e.g. labelled validation items; its metrics go to "
     "metrics.jsonl as eval_<metric>", kEvaluation},
    {"metric_for_best_model", text(&C::metric_for_best_model),
     "What picks the best outputs and drives early stopping: val_loss, or a metric of eval_task (accuracy, "
     "macro_f1, micro_f1, acc, acc_norm, exact_match, contains, rouge_l, token_f1, perplexity)", kEvaluation},

    {"replay_data", auto_replay(),
     "General data mixed into training against forgetting: general (a corpus built into Whet), a JSONL file "
     "read like train_data, or none; auto: general unless task_type is seq_cls", kDefences},
    {"replay_ratio", real(&C::replay_ratio, {0, true}),
     "Replay sequences per task sequence, e.g. 0.25: one replay sequence for every four of train_data", kDefences},
    {"distill_weight", auto_real(&C::distill_weight, {0, false}),
     "Weight of distillation from the base model, T²·KL(p_base ‖ p_model), added to the loss (method lora: the "
     "base is the model with the adapter off); 0: off; auto: 1 for lora with replay, else 0", kDefences},
    {"distill_temperature", real(&C::distill_temperature, {0, true}),
     "Temperature T of distillation: above 1 it also matches the base's less likely tokens", kDefences},
    {"distill_on", choice(&C::distill_on, kDistillOn),
     "Tokens distilled: replay (keeps the base's general behaviour without resisting the task), task, or all",
     kDefences},
    {"ewc_lambda", real(&C::ewc_lambda, {0, false}),
     "Elastic weight consolidation: adds ewc_lambda/2 * sum F*(w - w0)^2 to the loss, F a diagonal Fisher "
     "estimated on ewc_data before training and w0 the weights (or adapter) it was estimated at, so what "
     "general text relies on moves least; 0: off", kDefences},
    {"ewc_fisher", choice(&C::ewc_fisher, kFisherKinds),
     "empirical: F is the mean squared gradient of each sequence's own next-token loss; exact: of next tokens "
     "drawn from the model's own predictions (the true Fisher; seeded by seed)", kDefences},
    {"ewc_samples", integer(&C::ewc_samples, {1}),
     "Sequences of ewc_data the Fisher is averaged over (all of them when there are fewer)", kDefences},
    {"ewc_data", text(&C::ewc_data),
     "General text for the Fisher: general (the corpus built in for replay, apart from the forgetting check's "
     "sets) or a JSONL file", kDefences},
    {"l2sp_lambda", real(&C::l2sp_lambda, {0, false}),
     "L2-SP: adds l2sp_lambda/2 * sum (w - w0)^2 to the loss, w0 the pretrained weights (EWC with F = 1); "
     "methods full and freeze; 0: off", kDefences},

    {"save_steps", integer(&C::save_steps, {0}),
     "Save a checkpoint every N optimiser steps; 0: at the end of each epoch only", kCheckpoints},
    {"save_total_limit", integer(&C::save_total_limit, {0}),
     "Checkpoints kept, oldest removed first; 0: keep all", kCheckpoints},

    {"forgetting_gate", boolean(&C::forgetting_gate),
     "After training, score general text perplexity and general questions (built in) on the base and the "
     "tuned model, and on eval_task if set; write the verdict to gate.json and exit with code 3 when the tuned "
     "model lost more general ability than the two limits below allow (a loss the paired bootstrap cannot tell "
     "from noise at 5% is reported but passes)", kGate},
    {"max_perplexity_rise", real(&C::max_perplexity_rise, {0, false}),
     "Gate: the largest relative rise of general-text perplexity that passes (0.10: 10%)", kGate},
    {"max_accuracy_drop", real(&C::max_accuracy_drop, {0, false, 1}),
     "Gate: the largest fall of general-question accuracy that passes (0.05: 5 points)", kGate},

    {"task_sequence", strings(&C::task_sequence, {"path"}),
     "Training files of tasks learned one after another, one stage each (instead of train_data); "
     "OUTPUT/stage-N holds each stage's run", kContinual},
    {"task_sequence_eval", strings(&C::task_sequence_eval, {"path"}),
     "One task file per stage (docs/eval.md), every one scored after every stage: the accuracy matrix, backward "
     "transfer and forgetting go to OUTPUT/continual.json", kContinual},
    {"continual_strategy", choice(&C::continual_strategy, kContinualStrategies),
     "How a stage builds on the earlier ones: sequential (the same adapter or model trains on), replay (as "
     "sequential, with every earlier stage's examples mixed in again) or progressive (a new adapter on the base with "
     "the earlier adapters folded in and frozen; lora only)", kContinual},

    {"rl", choice(&C::rl, kPreferenceMethods),
     "Preference alignment: dpo, simpo or orpo on pairs (train_data of prompt, chosen and rejected answers), kto "
     "on answers labelled desirable or not (pairs are split into one of each), reward: a reward model on pairs (a "
     "one-output head, Bradley–Terry loss); grpo: online RL on prompts scored by a grader; none: supervised "
     "fine-tuning", kPreference},
    {"rl_beta", auto_real(&C::rl_beta, {0, false}),
     "β: how far the policy may move from the reference (dpo, kto; > 0), the reward scale (simpo, whose paper uses "
     "2 to 2.5), or the weight of the k3 KL to the base (grpo); auto: 0.1, and 0 (no KL) for grpo", kPreference},
    {"dpo_loss_type", choice(&C::dpo_loss_type, kDpoLossTypes),
     "DPO's loss: sigmoid (DPO; cDPO with dpo_label_smoothing), robust, hinge, or ipo (on log-probs averaged "
     "per token, as TRL)", kPreference},
    {"dpo_label_smoothing", real(&C::dpo_label_smoothing, {0, false, 0.5}),
     "ε, the assumed share of flipped preference labels (sigmoid, robust, simpo)", kPreference},
    {"simpo_gamma", real(&C::simpo_gamma, {0, false}), "SimPO's target reward margin γ", kPreference},
    {"orpo_alpha", real(&C::orpo_alpha, {0, false}),
     "λ, ORPO's weight of the odds-ratio term beside the chosen answers' loss", kPreference},
    {"rpo_alpha", auto_real(&C::rpo_alpha, {0, false}),
     "dpo: weight α of the chosen answers' loss per token added to the DPO term (RPO, TRL's rpo_alpha), which keeps "
     "the preferred answers likely; auto: 1 for dpo", kPreference},
    {"kto_desirable_weight", real(&C::kto_desirable_weight, {0, true}),
     "kto: λ_D, the weight of desirable answers' loss (TRL's desirable_weight); with λ_U, keep λ_D·desirable "
     "/ (λ_U·undesirable) between 1 and 4/3, as KTO's paper advises", kPreference},
    {"kto_undesirable_weight", real(&C::kto_undesirable_weight, {0, true}),
     "kto: λ_U, the weight of undesirable answers' loss (TRL's undesirable_weight)", kPreference},
    // Reward models (train/reward_step.h)
    {"reward_center_coefficient", real(&C::reward_center_coefficient, {0, false}),
     "rl reward: weight c of c·mean((r_chosen + r_rejected)²) added to the Bradley–Terry loss, which keeps the "
     "rewards centred on 0 (TRL's center_rewards_coefficient; 0.01 in its docs); 0: off", kPreference},
    {"chosen_logp_drop_warning", real(&C::chosen_logp_drop_warning, {0, false}),
     "Warn when the chosen answers' mean log-probability falls this many nats below the reference's (both "
     "falling is a known DPO failure); 0: never", kPreference},

    {"num_generations", integer(&C::num_generations, {2, 1024}),
     "grpo: G, the completions sampled per prompt; advantages compare each with its group", kGrpo},
    {"max_completion_length", integer(&C::max_completion_length, {1, 1 << 20}),
     "grpo: the longest completion sampled, in tokens (cut there and scored as it is)", kGrpo},
    {"grpo_epsilon", real(&C::grpo_epsilon, {0, true, 1, true}),
     "grpo: ε of the clipped probability ratio, clip(ρ, 1 − ε, 1 + ε)", kGrpo},
    {"rollout_temperature", real(&C::rollout_temperature, {0, true}),
     "grpo: the sampling temperature of the rollouts (TRL's default 1)", kGrpo},
    {"rollout_top_p", real(&C::rollout_top_p, {0, true, 1, false}), "grpo: nucleus sampling of the rollouts; 1: off",
     kGrpo},
    {"reward_target", real(&C::reward_target, {0, false, 1, false}),
     "grpo: stop (and write the adapter) once the mean rollout reward of the last 5 steps reaches this; 0: run "
     "every step", kGrpo},
    {"grader", grader_field(),
     "grpo: what scores a completion: a grader object (string_check, text_similarity, regex, json_schema, "
     "score_model, command, multi; docs/training.md) or the path of a JSON or YAML file holding one", kGrpo},
    },
    {.other_spellings = kOtherSpellings,
     .unknown_hint = "whet train --help-config lists every key",
     .example = "output_dir: runs/first"},
    check_combinations);

}  // namespace

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  TrainConfig config;
  yaml::Origins origins(path);
  const YAML::Node root = yaml::parse_document(yaml::read_config_file(path), path, kTable.example);
  yaml::read_document(config, kTable, root, path, origins);
  for (const std::string& item : overrides) yaml::read_override(config, kTable, item, origins);
  yaml::finish(config, kTable, yaml::Scope{origins, ""});
  return config;
}

TrainConfig train_config_from_overrides(const std::vector<std::string>& overrides) {
  TrainConfig config;
  yaml::Origins origins("--set");
  for (const std::string& item : overrides) yaml::read_override(config, kTable, item, origins);
  yaml::finish(config, kTable, yaml::Scope{origins, ""});
  return config;
}

std::string dump_train_config(const TrainConfig& config) {
  return "# whet training configuration, every key resolved; `whet train` reads it back as is.\n" +
         yaml::dump(config, kTable);
}

std::vector<TrainConfigKey> train_config_keys() {
  const TrainConfig defaults;
  std::vector<TrainConfigKey> keys;
  for (const yaml::Key<TrainConfig>& key : kTable.keys) {
    keys.push_back({key.name, key.group, yaml::type_text(key.field.kind) + (key.required ? ", required" : ""),
                    key.field.yaml(defaults), key.help});
  }
  return keys;
}

std::string train_config_help() {
  std::string out;
  std::string_view group;
  for (const TrainConfigKey& key : train_config_keys()) {
    if (key.group != group) {
      out += fmt::format("{}{}\n", group.empty() ? "" : "\n", key.group);
      group = key.group;
    }
    out += fmt::format("  {}: {} (default {})\n", key.name, key.type, key.default_value);
    // Help wrapped at 80 columns, indented under its key.
    std::string line;
    std::istringstream words{std::string(key.help)};
    for (std::string word; words >> word;) {
      if (!line.empty() && line.size() + 1 + word.size() > 74) {
        out += "      " + line + "\n";
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
    }
    out += "      " + line + "\n";
  }
  return out;
}

}  // namespace whet
