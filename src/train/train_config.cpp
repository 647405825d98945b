// Reading, checking and writing TrainConfig. kTable below is the only list of
// keys: a key is one row (name, field with its limits, help, group), and the
// parser (io/yaml_config), the dump, the help text and the docs test all walk
// that row.
#include "train/train_config.h"

#include <algorithm>
#include <array>
#include <climits>
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
constexpr std::array<std::string_view, 2> kOptimizers = {"adamw", "sgd"};
constexpr std::array<std::string_view, 3> kSchedulers = {"constant", "linear", "cosine"};
constexpr std::array<std::string_view, 3> kWeightFormats = {"native", "f32", "bf16"};
constexpr std::array<std::string_view, 2> kTaskTypes = {"causal_lm", "seq_cls"};
constexpr std::array<std::string_view, 2> kPoolings = {"last", "mean"};
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

// --- Checks across keys, after the file and the overrides ---

void check_defences(const TrainConfig& c, const yaml::Scope& scope) {
  const bool replay = !c.replay_data.empty(), distill = c.distill_weight > 0;
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
  if (distill && c.distill_on != "task" && !replay) {
    fail(scope.where("distill_weight"),
         "distill_weight: distill_on {} distils replay tokens, but replay_data is not set; set replay_data: "
         "general, or distill_on: task", c.distill_on);
  }
}

void check_combinations(const TrainConfig& c, const yaml::Scope& scope) {
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
  check_defences(c, scope);
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
                           kCheckpoints = "Checkpoints";

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
    {"method", choice(&C::method, kMethods),
     "full: train every weight (f32 master copies); freeze: train some blocks, freeze the rest; "
     "lora: train low-rank adapters on a frozen base", kRun},
    {"seed", integer(&C::seed, {0}),
     "Seed for shuffling, dropout and adapter initialisation", kRun},
    {"weights", choice(&C::weights, kWeightFormats),
     "How the frozen base is held for lora and freeze: native (as stored in the file, decoded on use), "
     "f32 or bf16; full always trains f32 masters", kRun},
    {"threads", integer(&C::threads, {0}),
     "Worker threads; 0: all cores", kRun},
    {"task_type", choice(&C::task_type, kTaskTypes),
     "causal_lm: learn to continue text; seq_cls: learn a classification head on {\"prompt\" or \"messages\", "
     "\"label\"} lines (with method freeze, train_last_n_blocks 0 and train_norms false, only the head trains)", kRun},
    {"pooling", choice(&C::pooling, kPoolings),
     "seq_cls: what the head reads, the last token's hidden state (last) or the mean over the tokens (mean)", kRun},

    {"train_data", strings(&C::train_data, {"path"}),
     "Training data: a file or a list of files", kData, true},
    {"val_data", strings(&C::val_data, {"path"}),
     "Validation data: a file or a list of files; empty: none", kData},
    {"val_set_size", real(&C::val_set_size, {0, false, 1}),
     "Fraction of train_data held back for validation (instead of val_data); 0: none", kData},
    {"data_format", choice(&C::data_format, kDataFormatNames),
     "How records are read: auto (detected per file), text (plain text), completion (prompt and completion), "
     "chat (messages), alpaca (instruction, input, output)", kData},
    {"train_on_inputs", boolean(&C::train_on_inputs),
     "Also take the loss on prompts and user turns, not only on the answers", kData},
    {"sequence_len", integer(&C::sequence_len, {2}),
     "Longest training sequence, in tokens", kData},
    {"sample_packing", boolean(&C::sample_packing),
     "Pack several short examples into one sequence, so less compute goes to padding", kData},
    {"drop_long", boolean(&C::drop_long),
     "Drop examples longer than sequence_len instead of truncating them", kData},
    {"strict", boolean(&C::strict),
     "Stop at the first malformed record instead of skipping it with a warning", kData},

    {"lora_r", integer(&C::lora_r, {1}),
     "Adapter rank", kLora},
    {"lora_alpha", integer(&C::lora_alpha, {1}),
     "Adapter scale: updates are multiplied by lora_alpha / lora_r", kLora},
    {"lora_dropout", real(&C::lora_dropout, {0, false, 1}),
     "Dropout on the adapter input while training", kLora},
    {"lora_target_modules", modules(&C::lora_target_modules),
     "Matrices that get adapters: a list of q, k, v, o, gate, up, down (q_proj ... down_proj also read), "
     "or all-linear for all seven", kLora},
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
    {"learning_rate", real(&C::learning_rate, {0, true}),
     "Peak learning rate", kOptimiser},
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

    {"num_epochs", integer(&C::num_epochs, {1}),
     "Passes over the training data", kLoop},
    {"max_steps", integer(&C::max_steps, {1, INT_MAX, true}),
     "Stop after this many optimiser steps, even mid-epoch; -1: num_epochs decides", kLoop},
    {"micro_batch_size", integer(&C::micro_batch_size, {1}),
     "Sequences per forward and backward pass", kLoop},
    {"gradient_accumulation_steps", integer(&C::gradient_accumulation_steps, {1}),
     "Micro-batches per optimiser step; the effective batch is micro_batch_size times this", kLoop},
    {"max_grad_norm", real(&C::max_grad_norm, {0, false}),
     "Clip the norm of all gradients together to this; 0: no clipping", kLoop},

    {"eval_steps", integer(&C::eval_steps, {0}),
     "Evaluate on the validation data every N optimiser steps; 0: at the end of each epoch", kEvaluation},
    {"early_stopping_patience", integer(&C::early_stopping_patience, {0}),
     "Stop after N evaluations without improvement (needs validation data); 0: off", kEvaluation},
    {"early_stopping_min_delta", real(&C::early_stopping_min_delta, {0, false}),
     "Smallest change of metric_for_best_model that counts as an improvement", kEvaluation},
    {"eval_task", text(&C::eval_task),
     "Task file (docs/eval.md) scored at every evaluation, e.g. labelled validation items; its metrics go to "
     "metrics.jsonl as eval_<metric>", kEvaluation},
    {"metric_for_best_model", text(&C::metric_for_best_model),
     "What picks the best outputs and drives early stopping: val_loss, or a metric of eval_task (accuracy, "
     "macro_f1, micro_f1, acc, acc_norm, exact_match, contains, rouge_l, token_f1, perplexity)", kEvaluation},

    {"replay_data", text(&C::replay_data),
     "General data mixed into training against forgetting: general (a corpus built into Whet) or a JSONL file "
     "read like train_data; empty: no replay", kDefences},
    {"replay_ratio", real(&C::replay_ratio, {0, true}),
     "Replay sequences per task sequence, e.g. 0.25: one replay sequence for every four of train_data", kDefences},
    {"distill_weight", real(&C::distill_weight, {0, false}),
     "Weight of distillation from the base model, T²·KL(p_base ‖ p_model), added to the loss (method lora: the "
     "base is the model with the adapter off); 0: off", kDefences},
    {"distill_temperature", real(&C::distill_temperature, {0, true}),
     "Temperature T of distillation: above 1 it also matches the base's less likely tokens", kDefences},
    {"distill_on", choice(&C::distill_on, kDistillOn),
     "Tokens distilled: replay (keeps the base's general behaviour without resisting the task), task, or all",
     kDefences},

    {"save_steps", integer(&C::save_steps, {0}),
     "Save a checkpoint every N optimiser steps; 0: at the end of each epoch only", kCheckpoints},
    {"save_total_limit", integer(&C::save_total_limit, {0}),
     "Checkpoints kept, oldest removed first; 0: keep all", kCheckpoints},
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
