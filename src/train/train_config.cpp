// Reading, checking and writing TrainConfig. kKeys below is the only list of
// keys: a key is one row (name, group, field with its limits, help), and the
// parser, the dump, the help text and the docs test all walk that row.
#include "train/train_config.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/error.h"

namespace whet {
namespace {

using Names = std::span<const std::string_view>;

constexpr std::array<std::string_view, 3> kMethods = {"full", "freeze", "lora"};
constexpr std::array<std::string_view, 5> kDataFormats = {"auto", "text", "completion", "chat", "alpaca"};
constexpr std::array<std::string_view, 2> kOptimizers = {"adamw", "sgd"};
constexpr std::array<std::string_view, 3> kSchedulers = {"constant", "linear", "cosine"};
constexpr std::array<std::string_view, 3> kWeightFormats = {"native", "f32", "bf16"};
constexpr std::array<std::string_view, 2> kTaskTypes = {"causal_lm", "seq_cls"};
constexpr std::array<std::string_view, 2> kPoolings = {"last", "mean"};
constexpr std::array<std::string_view, 7> kModules = {"q", "k", "v", "o", "gate", "up", "down"};
constexpr std::string_view kAllLinear = "all-linear";

// A config is a few kilobytes. Much more is likely a data file given by
// mistake, and yaml-cpp spends hundreds of bytes per node.
constexpr std::size_t kMaxFileBytes = std::size_t(1) << 20;

// Field kinds. Each carries its limits, so the type shown in help and in
// errors is printed from the same numbers that are checked.
struct IntField {
  int TrainConfig::*member;
  int min;
  bool minus_one_unsets = false;
};
struct RealField {
  double TrainConfig::*member;
  double min;
  bool min_excluded;
  double max = std::numeric_limits<double>::infinity();  // always excluded
};
struct BoolField {
  bool TrainConfig::*member;
};
struct TextField {
  std::string TrainConfig::*member;
  Names allowed = {};  // empty: any string
};
struct PathsField {
  std::vector<std::string> TrainConfig::*member;
};
struct ModulesField {
  std::vector<std::string> TrainConfig::*member;
};
template <typename E>
struct EnumField {
  E TrainConfig::*member;
  Names names;  // indexed by the enum's value
};

using Field = std::variant<IntField, RealField, BoolField, TextField, PathsField, ModulesField, EnumField<TrainMethod>,
                           EnumField<DataFormat>, EnumField<OptimizerKind>, EnumField<LrScheduler>>;

struct Key {
  std::string_view name;
  std::string_view group;
  Field field;
  std::string_view help;
  bool required = false;
};

constexpr std::string_view kRun = "Run", kData = "Data", kLora = "LoRA", kFreezing = "Freezing (method freeze)",
                           kOptimiser = "Optimiser", kSchedule = "Schedule", kLoop = "Loop",
                           kEvaluation = "Evaluation and stopping", kCheckpoints = "Checkpoints";

using C = TrainConfig;
constexpr auto kKeys = std::to_array<Key>({
    {"base_model", kRun, TextField{&C::base_model},
     "GGUF file or Hugging Face model directory to start from; empty: the default model (SmolLM2-135M-Instruct)"},
    {"output_dir", kRun, TextField{&C::output_dir},
     "Run folder: checkpoints, logs, this config as resolved, and the final model", true},
    {"method", kRun, EnumField<TrainMethod>{&C::method, kMethods},
     "full: train every weight (f32 master copies); freeze: train some blocks, freeze the rest; "
     "lora: train low-rank adapters on a frozen base"},
    {"seed", kRun, IntField{&C::seed, 0}, "Seed for shuffling, dropout and adapter initialisation"},
    {"weights", kRun, TextField{&C::weights, kWeightFormats},
     "How the frozen base is held for lora and freeze: native (as stored in the file, decoded on use), "
     "f32 or bf16; full always trains f32 masters"},
    {"threads", kRun, IntField{&C::threads, 0}, "Worker threads; 0: all cores"},
    {"task_type", kRun, TextField{&C::task_type, kTaskTypes},
     "causal_lm: learn to continue text; seq_cls: learn a classification head on {\"prompt\" or \"messages\", "
     "\"label\"} lines (with method freeze, train_last_n_blocks 0 and train_norms false, only the head trains)"},
    {"pooling", kRun, TextField{&C::pooling, kPoolings},
     "seq_cls: what the head reads, the last token's hidden state (last) or the mean over the tokens (mean)"},

    {"train_data", kData, PathsField{&C::train_data}, "Training data: a file or a list of files", true},
    {"val_data", kData, PathsField{&C::val_data}, "Validation data: a file or a list of files; empty: none"},
    {"val_set_size", kData, RealField{&C::val_set_size, 0, false, 1},
     "Fraction of train_data held back for validation (instead of val_data); 0: none"},
    {"data_format", kData, EnumField<DataFormat>{&C::data_format, kDataFormats},
     "How records are read: auto (detected per file), text (plain text), completion (prompt and completion), "
     "chat (messages), alpaca (instruction, input, output)"},
    {"train_on_inputs", kData, BoolField{&C::train_on_inputs},
     "Also take the loss on prompts and user turns, not only on the answers"},
    {"sequence_len", kData, IntField{&C::sequence_len, 2}, "Longest training sequence, in tokens"},
    {"sample_packing", kData, BoolField{&C::sample_packing},
     "Pack several short examples into one sequence, so less compute goes to padding"},
    {"drop_long", kData, BoolField{&C::drop_long},
     "Drop examples longer than sequence_len instead of truncating them"},
    {"strict", kData, BoolField{&C::strict},
     "Stop at the first malformed record instead of skipping it with a warning"},

    {"lora_r", kLora, IntField{&C::lora_r, 1}, "Adapter rank"},
    {"lora_alpha", kLora, IntField{&C::lora_alpha, 1}, "Adapter scale: updates are multiplied by lora_alpha / lora_r"},
    {"lora_dropout", kLora, RealField{&C::lora_dropout, 0, false, 1}, "Dropout on the adapter input while training"},
    {"lora_target_modules", kLora, ModulesField{&C::lora_target_modules},
     "Matrices that get adapters: a list of q, k, v, o, gate, up, down (q_proj ... down_proj also read), "
     "or all-linear for all seven"},
    {"use_rslora", kLora, BoolField{&C::use_rslora}, "Rank-stabilised scale lora_alpha / sqrt(lora_r)"},
    {"lora_model_dir", kLora, TextField{&C::lora_model_dir},
     "A PEFT adapter to continue training; its rank, alpha and targets replace the lora_ keys"},

    {"freeze_embeddings", kFreezing, BoolField{&C::freeze_embeddings}, "Keep the token embeddings frozen"},
    {"freeze_first_n_blocks", kFreezing, IntField{&C::freeze_first_n_blocks, 0, true},
     "Freeze the first N transformer blocks and train the others; set this or train_last_n_blocks"},
    {"train_last_n_blocks", kFreezing, IntField{&C::train_last_n_blocks, 0, true},
     "Train only the last N transformer blocks; set this or freeze_first_n_blocks"},
    {"train_norms", kFreezing, BoolField{&C::train_norms},
     "Train the RMSNorm weights of the trained blocks and the final norm"},
    {"train_lm_head", kFreezing, BoolField{&C::train_lm_head}, "Train the output projection (LM head)"},
    {"gradual_unfreeze_every_steps", kFreezing, IntField{&C::gradual_unfreeze_every_steps, 0},
     "Unfreeze one more block, working downwards, every N optimiser steps; 0: off"},
    {"gradual_unfreeze_every_epoch", kFreezing, BoolField{&C::gradual_unfreeze_every_epoch},
     "Unfreeze one more block, working downwards, at the start of each epoch after the first"},

    {"optimizer", kOptimiser, EnumField<OptimizerKind>{&C::optimizer, kOptimizers},
     "adamw (decoupled weight decay) or sgd (with momentum)"},
    {"learning_rate", kOptimiser, RealField{&C::learning_rate, 0, true}, "Peak learning rate"},
    {"weight_decay", kOptimiser, RealField{&C::weight_decay, 0, false},
     "Weight decay (decoupled from the gradient for adamw)"},
    {"adam_beta1", kOptimiser, RealField{&C::adam_beta1, 0, false, 1}, "AdamW decay of the gradient average"},
    {"adam_beta2", kOptimiser, RealField{&C::adam_beta2, 0, false, 1},
     "AdamW decay of the squared-gradient average"},
    {"adam_epsilon", kOptimiser, RealField{&C::adam_epsilon, 0, true}, "AdamW term added to the denominator"},
    {"momentum", kOptimiser, RealField{&C::momentum, 0, false, 1}, "SGD momentum; 0: plain SGD"},

    {"lr_scheduler", kSchedule, EnumField<LrScheduler>{&C::lr_scheduler, kSchedulers},
     "Learning rate after warmup: constant, linear decay to 0, or cosine decay to 0"},
    {"warmup_steps", kSchedule, IntField{&C::warmup_steps, 0},
     "Optimiser steps of linear warmup from 0; set this or warmup_ratio"},
    {"warmup_ratio", kSchedule, RealField{&C::warmup_ratio, 0, false, 1},
     "Warmup as a fraction of all optimiser steps; set this or warmup_steps"},

    {"num_epochs", kLoop, IntField{&C::num_epochs, 1}, "Passes over the training data"},
    {"max_steps", kLoop, IntField{&C::max_steps, 1, true},
     "Stop after this many optimiser steps, even mid-epoch; -1: num_epochs decides"},
    {"micro_batch_size", kLoop, IntField{&C::micro_batch_size, 1}, "Sequences per forward and backward pass"},
    {"gradient_accumulation_steps", kLoop, IntField{&C::gradient_accumulation_steps, 1},
     "Micro-batches per optimiser step; the effective batch is micro_batch_size times this"},
    {"max_grad_norm", kLoop, RealField{&C::max_grad_norm, 0, false},
     "Clip the norm of all gradients together to this; 0: no clipping"},

    {"eval_steps", kEvaluation, IntField{&C::eval_steps, 0},
     "Evaluate on the validation data every N optimiser steps; 0: at the end of each epoch"},
    {"early_stopping_patience", kEvaluation, IntField{&C::early_stopping_patience, 0},
     "Stop after N evaluations without improvement (needs validation data); 0: off"},
    {"early_stopping_min_delta", kEvaluation, RealField{&C::early_stopping_min_delta, 0, false},
     "Smallest change of metric_for_best_model that counts as an improvement"},
    {"eval_task", kEvaluation, TextField{&C::eval_task},
     "Task file (docs/eval.md) scored at every evaluation, e.g. labelled validation items; its metrics go to "
     "metrics.jsonl as eval_<metric>"},
    {"metric_for_best_model", kEvaluation, TextField{&C::metric_for_best_model},
     "What picks the best outputs and drives early stopping: val_loss, or a metric of eval_task (accuracy, "
     "macro_f1, micro_f1, acc, acc_norm, exact_match, contains, rouge_l, token_f1, perplexity)"},

    {"save_steps", kCheckpoints, IntField{&C::save_steps, 0},
     "Save a checkpoint every N optimiser steps; 0: at the end of each epoch only"},
    {"save_total_limit", kCheckpoints, IntField{&C::save_total_limit, 0},
     "Checkpoints kept, oldest removed first; 0: keep all"},
});

constexpr auto kKeyNames = [] {
  std::array<std::string_view, kKeys.size()> names{};
  for (std::size_t i = 0; i < kKeys.size(); ++i) names[i] = kKeys[i].name;
  return names;
}();

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

// --- Text helpers ---

std::string join(Names names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// What the user wrote, for a message: shortened, control bytes escaped.
std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::size_t n = std::min(text.size(), kMaxShown);
  while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // whole UTF-8 characters
  std::string out;
  for (char ch : text.substr(0, n)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  if (n < text.size()) out += "...";
  return out;
}

std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.IsMap()) return "a mapping";
  if (!node.IsScalar()) return "nothing";
  return "'" + shown(node.Scalar()) + "'";
}

// Double-quoted, so any string reads back unchanged whatever it looks like (null, true, 12, "- x").
std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t(0));
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate a typo most likely meant, or "" when none is close.
std::string_view closest(std::string_view word, Names candidates) {
  if (word.size() > 64) return {};  // not a typo, and the distance would cost
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t best = std::clamp<std::size_t>(word.size() / 3, 1, 3) + 1;
  std::string_view found;
  for (std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(lower, candidate);
    if (d < best) {
      best = d;
      found = candidate;
    }
  }
  return found;
}

std::string did_you_mean(std::string_view word, Names candidates) {
  const std::string_view guess = closest(word, candidates);
  return guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess);
}

std::string unknown_key_message(std::string_view name) {
  for (const auto& [other, ours] : kOtherSpellings) {
    if (name == other) return fmt::format("unknown key '{}'; did you mean '{}'?", name, ours);
  }
  const std::string hint = did_you_mean(name, kKeyNames);
  return fmt::format("unknown key '{}'{}", shown(name),
                     hint.empty() ? " (whet train --help-config lists every key)" : hint);
}

const Key* find_key(std::string_view name) {
  for (const Key& key : kKeys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

// --- Scalars ---

std::string_view without_plus(std::string_view text) {
  return text.size() > 1 && text[0] == '+' && text[1] != '-' ? text.substr(1) : text;
}

std::optional<long long> to_integer(std::string_view text) {
  text = without_plus(text);
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> to_number(std::string_view text) {
  text = without_plus(text);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// yes/no/on/off too: Axolotl reads YAML 1.1, where those are booleans.
std::optional<bool> to_bool(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// The module name in Whet's short form (q_proj -> q), or "" when unknown.
std::string_view module_name(std::string_view name) {
  if (name.ends_with("_proj")) name.remove_suffix(5);
  const auto it = std::find(kModules.begin(), kModules.end(), name);
  return it == kModules.end() ? std::string_view() : *it;
}

// --- Types, as shown in help and errors ---

std::string type_of(const IntField& f) {
  return fmt::format("integer >= {}{}", f.min, f.minus_one_unsets ? ", or -1 for unset" : "");
}
std::string type_of(const RealField& f) {
  if (std::isinf(f.max)) return fmt::format("number {} {}", f.min_excluded ? ">" : ">=", f.min);
  return fmt::format("number in {}{}, {})", f.min_excluded ? "(" : "[", f.min, f.max);
}
std::string type_of(const BoolField&) { return "true or false"; }
std::string type_of(const TextField& f) { return f.allowed.empty() ? "string" : "one of " + join(f.allowed); }
std::string type_of(const PathsField&) { return "path or list of paths"; }
std::string type_of(const ModulesField&) { return "list of " + join(kModules) + "; or all-linear"; }
template <typename E>
std::string type_of(const EnumField<E>& f) {
  return "one of " + join(f.names);
}
std::string type_of(const Field& field) {
  return std::visit([](const auto& f) { return type_of(f); }, field);
}

// --- Values, as written by the dump ---

std::string yaml_of(const TrainConfig& c, const IntField& f) { return fmt::format("{}", c.*f.member); }
std::string yaml_of(const TrainConfig& c, const RealField& f) { return fmt::format("{}", c.*f.member); }
std::string yaml_of(const TrainConfig& c, const BoolField& f) { return c.*f.member ? "true" : "false"; }
std::string yaml_of(const TrainConfig& c, const TextField& f) {
  return f.allowed.empty() ? yaml_quoted(c.*f.member) : c.*f.member;  // a choice is a plain word
}
std::string yaml_of(const TrainConfig& c, const PathsField& f) {
  std::string out;
  for (const std::string& path : c.*f.member) out += (out.empty() ? "" : ", ") + yaml_quoted(path);
  return "[" + out + "]";
}
std::string yaml_of(const TrainConfig& c, const ModulesField& f) {
  std::string out;
  for (const std::string& m : c.*f.member) out += (out.empty() ? "" : ", ") + m;
  return "[" + out + "]";
}
template <typename E>
std::string yaml_of(const TrainConfig& c, const EnumField<E>& f) {
  const auto index = static_cast<std::size_t>(c.*f.member);
  WHET_ASSERT(index < f.names.size());
  return std::string(f.names[index]);
}
std::string yaml_of(const TrainConfig& c, const Field& field) {
  return std::visit([&](const auto& f) { return yaml_of(c, f); }, field);
}

// --- Reading values ---

// One key's value and where it came from: a line of a file, or a --set flag.
struct Setting {
  const Key& key;
  const YAML::Node& value;
  std::string_view file;  // empty: from --set
  int key_line;           // 0-based, in file

  std::string origin() const {
    return file.empty() ? fmt::format("--set {}", key.name) : fmt::format("{}:{}", file, key_line + 1);
  }
  // Null nodes carry the mark of whatever follows them, and aliases that of
  // their anchor, possibly lines above: both point at their key instead.
  std::string where(const YAML::Node& node) const {
    if (file.empty() || node.IsNull() || node.Mark().is_null() || node.Mark().line < key_line) return origin();
    return fmt::format("{}:{}", file, node.Mark().line + 1);
  }
  [[noreturn]] void reject(const YAML::Node& node, std::string_view expected, std::string_view hint = {}) const {
    fail(where(node), "{}: expected {}, got {}{}", key.name, expected, describe(node), hint);
  }
  const std::string& scalar(const YAML::Node& node, std::string_view expected) const {
    if (!node.IsScalar()) reject(node, expected);
    return node.Scalar();
  }
};

struct Apply {
  TrainConfig& config;
  const Setting& s;

  void operator()(const IntField& f) const {
    const std::string type = type_of(f);
    const std::optional<long long> v = to_integer(s.scalar(s.value, type));
    const bool in_range = v && *v <= INT_MAX && (*v >= f.min || (f.minus_one_unsets && *v == -1));
    if (!in_range) s.reject(s.value, type);
    config.*f.member = static_cast<int>(*v);
  }
  void operator()(const RealField& f) const {
    const std::string type = type_of(f);
    const std::optional<double> v = to_number(s.scalar(s.value, type));
    const bool in_range = v && (f.min_excluded ? *v > f.min : *v >= f.min) && *v < f.max;
    if (!in_range) s.reject(s.value, type);
    config.*f.member = *v;
  }
  void operator()(const BoolField& f) const {
    const std::optional<bool> v = to_bool(s.scalar(s.value, type_of(f)));
    if (!v) s.reject(s.value, type_of(f));
    config.*f.member = *v;
  }
  void operator()(const TextField& f) const {
    std::string text = s.value.IsNull() ? "" : s.scalar(s.value, type_of(f));
    if (!f.allowed.empty() && std::find(f.allowed.begin(), f.allowed.end(), text) == f.allowed.end()) {
      s.reject(s.value, type_of(f), did_you_mean(text, f.allowed));
    }
    config.*f.member = std::move(text);
  }
  void operator()(const PathsField& f) const {
    const std::string type = type_of(f);
    std::vector<std::string> paths;
    if (s.value.IsScalar()) {
      if (!s.value.Scalar().empty()) paths.push_back(s.value.Scalar());
    } else if (s.value.IsSequence()) {
      for (const YAML::Node& item : s.value) {
        const std::string& path = s.scalar(item, "path");
        if (path.empty()) s.reject(item, "path");
        paths.push_back(path);
      }
    } else if (!s.value.IsNull()) {
      s.reject(s.value, type);
    }
    config.*f.member = std::move(paths);
  }
  void operator()(const ModulesField& f) const {
    const std::string type = type_of(f);
    const std::string one = fmt::format("one of {} or {}", join(kModules), kAllLinear);
    std::array<bool, kModules.size()> chosen{};
    auto choose = [&](const YAML::Node& item) {
      const std::string& name = s.scalar(item, one);
      if (name == kAllLinear) {
        chosen.fill(true);
        return;
      }
      const std::string_view m = module_name(name);
      if (m.empty()) s.reject(item, one, did_you_mean(name, kModules));
      chosen[std::find(kModules.begin(), kModules.end(), m) - kModules.begin()] = true;
    };
    if (s.value.IsSequence() && s.value.size() > 0) {
      for (const YAML::Node& item : s.value) choose(item);
    } else if (s.value.IsScalar()) {
      choose(s.value);
    } else {
      s.reject(s.value, type);
    }
    std::vector<std::string> modules;
    for (std::size_t i = 0; i < kModules.size(); ++i) {
      if (chosen[i]) modules.emplace_back(kModules[i]);
    }
    config.*f.member = std::move(modules);
  }
  template <typename E>
  void operator()(const EnumField<E>& f) const {
    const std::string& name = s.scalar(s.value, type_of(f));
    const auto it = std::find(f.names.begin(), f.names.end(), name);
    if (it == f.names.end()) s.reject(s.value, type_of(f), did_you_mean(name, f.names));
    config.*f.member = static_cast<E>(it - f.names.begin());
  }
};

// Where each key was last set ("config.yaml:12", "--set lora_r"), for errors about combinations.
using Origins = std::map<std::string_view, std::string>;

void apply(TrainConfig& config, const Setting& setting, Origins& origins) {
  std::visit(Apply{config, setting}, setting.key.field);
  origins[setting.key.name] = setting.origin();
}

// --- Reading a file ---

std::string read_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a YAML config file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open config file: {}", std::strerror(errno));
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(std::size_t(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    fail(path, "is larger than {} bytes; a config is a few kilobytes (is this a data file?)", kMaxFileBytes);
  }
  return text;
}

std::string at_mark(std::string_view path, const YAML::Mark& mark) {
  return mark.is_null() ? std::string(path) : fmt::format("{}:{}", path, mark.line + 1);
}

YAML::Node parse_yaml(const std::string& text, std::string_view path) {
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    fail(at_mark(path, e.mark), "nested too deeply; a config is flat key: value lines");
  } catch (const YAML::Exception& e) {
    fail(at_mark(path, e.mark), "not valid YAML: {}", e.msg);
  }
}

// Notes whether documents after the first hold anything. Walks events instead
// of calling YAML::LoadAll, which loops forever on some garbage (yaml-cpp #1040).
class DocumentScan final : public YAML::EventHandler {
 public:
  YAML::Mark start;
  bool has_content = false;

  void OnDocumentStart(const YAML::Mark& mark) override {
    start = mark;
    has_content = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { has_content = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
    has_content = true;
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    has_content = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    has_content = true;
  }
  void OnMapEnd() override {}
};

// YAML::Load reads only the first document; settings after a '---' would be silently lost.
void reject_second_document(const std::string& text, std::string_view path) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScan scan;
  constexpr int kDocumentsLooked = 8;  // bounds the loop yaml-cpp can get stuck in
  for (int i = 0; i < kDocumentsLooked && parser.HandleNextDocument(scan); ++i) {
    if (i > 0 && scan.has_content) {
      fail(at_mark(path, scan.start), "a second YAML document starts here; a config is one document");
    }
  }
}

void apply_file(TrainConfig& config, const std::string& path, Origins& origins) {
  const std::string text = read_config_file(path);
  const YAML::Node root = parse_yaml(text, path);
  if (root.IsNull()) fail(path, "holds no settings; expected key: value lines such as 'output_dir: runs/first'");
  if (!root.IsMap()) {
    fail(at_mark(path, root.Mark()), "expected key: value lines at the top level, got {}", describe(root));
  }
  reject_second_document(text, path);

  std::unordered_map<std::string, int> first_line;
  for (const auto& entry : root) {
    const YAML::Node& name = entry.first;
    const int line = name.Mark().line;
    const std::string where = fmt::format("{}:{}", path, line + 1);
    if (!name.IsScalar()) fail(where, "keys are plain names, got {}", describe(name));
    if (const auto [it, inserted] = first_line.emplace(name.Scalar(), line); !inserted) {
      fail(where, "duplicate key '{}' (first set on line {})", shown(name.Scalar()), it->second + 1);
    }
    const Key* key = find_key(name.Scalar());
    if (!key) fail(where, "{}", unknown_key_message(name.Scalar()));
    apply(config, Setting{*key, entry.second, path, line}, origins);
  }
}

void apply_override(TrainConfig& config, const std::string& item, Origins& origins) {
  const std::size_t equals = item.find('=');
  if (equals == std::string::npos) fail(fmt::format("--set {}", shown(item)), "expected key=value");
  const std::string name = item.substr(0, equals);
  const std::string where = fmt::format("--set {}", shown(name));
  const Key* key = find_key(name);
  if (!key) fail(where, "{}", unknown_key_message(name));
  YAML::Node value;
  try {
    value = YAML::Load(item.substr(equals + 1));
  } catch (const YAML::Exception& e) {
    fail(where, "{}: value is not valid YAML: {}", name, e.msg);
  }
  apply(config, Setting{*key, value, {}, 0}, origins);
}

// --- Checks across keys, after the file and the overrides ---

bool is_empty(const TrainConfig& c, const Field& field) {
  if (const auto* t = std::get_if<TextField>(&field)) return (c.*t->member).empty();
  if (const auto* p = std::get_if<PathsField>(&field)) return (c.*p->member).empty();
  return false;
}

// `source` names the file, or "--set" for a run without one, for keys never set.
void check_combinations(const TrainConfig& c, const Origins& origins, std::string_view source) {
  auto at = [&](std::string_view key) {
    const auto it = origins.find(key);
    return it == origins.end() ? std::string(source) : it->second;
  };
  for (const Key& key : kKeys) {
    if (key.required && is_empty(c, key.field)) {
      fail(at(key.name), "{}: required but not set ({})", key.name, key.help);
    }
  }
  auto exclusive = [&](std::string_view a, bool a_set, std::string_view b, bool b_set, std::string_view advice) {
    if (a_set && b_set) fail(at(b), "{}: cannot be combined with {} (set at {}); {}", b, a, at(a), advice);
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
      fail(at("method"), "method: freeze needs freeze_first_n_blocks or train_last_n_blocks to say which blocks train");
    }
  }
  const bool by_loss = c.metric_for_best_model == "val_loss";
  if (!by_loss && c.eval_task.empty()) {
    fail(at("metric_for_best_model"), "metric_for_best_model: {} is a task metric; set eval_task to a task file",
         c.metric_for_best_model);
  }
  if (c.early_stopping_patience > 0 && by_loss && c.val_data.empty() && c.val_set_size == 0) {
    fail(at("early_stopping_patience"),
         "early_stopping_patience: needs validation data (val_data or val_set_size), or eval_task with "
         "metric_for_best_model");
  }
}

}  // namespace

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  TrainConfig config;
  Origins origins;
  apply_file(config, path, origins);
  for (const std::string& item : overrides) apply_override(config, item, origins);
  check_combinations(config, origins, path);
  return config;
}

TrainConfig train_config_from_overrides(const std::vector<std::string>& overrides) {
  TrainConfig config;
  Origins origins;
  for (const std::string& item : overrides) apply_override(config, item, origins);
  check_combinations(config, origins, "--set");
  return config;
}

std::string dump_train_config(const TrainConfig& config) {
  std::string out = "# whet training configuration, every key resolved; `whet train` reads it back as is.\n";
  std::string_view group;
  for (const Key& key : kKeys) {
    if (key.group != group) {
      group = key.group;
      out += fmt::format("\n# {}\n", group);
    }
    out += fmt::format("{}: {}\n", key.name, yaml_of(config, key.field));
  }
  return out;
}

std::vector<TrainConfigKey> train_config_keys() {
  const TrainConfig defaults;
  std::vector<TrainConfigKey> keys;
  for (const Key& key : kKeys) {
    keys.push_back({key.name, key.group, type_of(key.field) + (key.required ? ", required" : ""),
                    yaml_of(defaults, key.field), key.help});
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
