#include "serve/job_request.h"

#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/request_json.h"
#include "data/jsonl_reader.h"
#include "eval/grader.h"
#include "train/replay.h"

namespace whet::serve {

namespace {

using nlohmann::json;

std::string string_field(const json& body, const char* key, bool required) {
  const json* v = json_member(body, key);
  if (!v) {
    if (required) throw invalid_request(fmt::format("'{}' is required", key), key);
    return "";
  }
  if (!v->is_string()) throw invalid_request(fmt::format("'{}' must be a string", key), key);
  return v->get<std::string>();
}

// A hyperparameter as given: "auto" when absent or "auto", otherwise a number in [low, high].
json hyper(const json& given, const char* key, double low, double high, bool integer, const std::string& where) {
  const json* v = given.is_object() ? json_member(given, key) : nullptr;
  const std::string param = where + key;
  if (!v || *v == "auto") return "auto";
  if (!v->is_number() || (integer && !v->is_number_integer()))
    throw invalid_request(fmt::format("'{}' must be {} or \"auto\"", param, integer ? "an integer" : "a number"), param);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < low || x > high)
    throw invalid_request(fmt::format("'{}' must be between {} and {}, got {}", param, low, high, v->dump()), param);
  return *v;
}

// A word of `allowed` or "auto" (absent: auto).
json word(const json& given, const char* key, std::initializer_list<std::string_view> allowed, const std::string& where) {
  const json* v = given.is_object() ? json_member(given, key) : nullptr;
  if (!v || *v == "auto") return "auto";
  const std::string param = where + key;
  std::string names = "\"auto\"";
  for (std::string_view a : allowed) {
    if (v->is_string() && v->get<std::string>() == a) return *v;
    names += fmt::format(", \"{}\"", a);
  }
  throw invalid_request(fmt::format("'{}' must be one of {}, got {}", param, names, v->dump()), param);
}

// true or false (absent: `fallback`).
json flag(const json& given, const char* key, bool fallback, const std::string& where) {
  const json* v = given.is_object() ? json_member(given, key) : nullptr;
  if (!v) return fallback;
  const std::string param = where + key;
  if (!v->is_boolean()) throw invalid_request(fmt::format("'{}' must be true or false", param), param);
  return *v;
}

json or_default(json value, json fallback) { return value == "auto" ? fallback : value; }

bool is_auto(const json& value) { return value == "auto"; }

// method.type as a request gives it, and the job's method: OpenAI's types
// (supervised, dpo, reinforcement) and Whet's words for them and for the other rl methods.
struct MethodType {
  std::string_view type, method;
};
constexpr MethodType kMethodTypes[] = {
    {"supervised", "lora"}, {"lora", "lora"}, {"full", "full"}, {"dpo", "dpo"},   {"simpo", "simpo"},
    {"orpo", "orpo"},       {"kto", "kto"},   {"reward", "reward"}, {"reinforcement", "grpo"}, {"grpo", "grpo"}};

std::string job_method(const std::string& type) {
  std::string names;
  for (const MethodType& m : kMethodTypes) {
    if (m.type == type) return std::string(m.method);
    names += (names.empty() ? "" : ", ") + std::string(m.type);
  }
  throw invalid_request(fmt::format("'method.type' must be one of {}, got '{}'", names, type), "method.type");
}

// An rl method's own hyperparameters, named as in a training config (docs/config.md)
// except OpenAI's `beta` (rl_beta); ranges as the config's, bounded where a job could run for days.
struct RlHyperparameter {
  const char* key;
  double low, high;
  bool integer;
};
std::vector<RlHyperparameter> rl_hyperparameters(const std::string& method) {
  if (method == "dpo") return {{"beta", 1e-6, 100, false}, {"dpo_label_smoothing", 0, 0.5, false}, {"rpo_alpha", 0, 100, false}};
  if (method == "simpo") return {{"beta", 1e-6, 100, false}, {"simpo_gamma", 0, 100, false}};
  if (method == "orpo") return {{"orpo_alpha", 0, 100, false}};
  if (method == "kto")
    return {{"beta", 1e-6, 100, false}, {"kto_desirable_weight", 1e-6, 100, false}, {"kto_undesirable_weight", 1e-6, 100, false}};
  if (method == "reward") return {{"reward_center_coefficient", 0, 100, false}};
  if (method == "grpo")
    return {{"beta", 0, 100, false}, {"num_generations", 2, 64, true}, {"max_completion_length", 1, 4096, true},
            {"rollout_temperature", 1e-3, 10, false}, {"rollout_top_p", 1e-3, 1, false}, {"reward_target", 0, 1e6, false}};
  return {};
}

bool is_rl(const std::string& method) { return method != "lora" && method != "full"; }

// A hyperparameter nobody reads would leave the client believing it ran.
void refuse_unknown(const json& given, const json& known, const std::string& method, const std::string& where) {
  if (!given.is_object()) return;
  for (const auto& [key, value] : given.items()) {
    if (known.contains(key)) continue;
    std::string names;
    for (const auto& [name, v] : known.items()) names += (names.empty() ? "" : ", ") + name;
    throw invalid_request(fmt::format("'{}{}' is not a hyperparameter of a {} job (its hyperparameters: {})", where,
                                      key, method, names), where + key);
  }
}

// A reinforcement job's grader, checked now as the run will build it, but as a
// client's: no command to run and no folder to read on the server.
json job_grader(const json& method_body, const std::string& type) {
  const std::string param = fmt::format("method.{}.grader", type);
  const json* inner = json_member(method_body, type.c_str());
  const json* grader = inner && inner->is_object() ? json_member(*inner, "grader") : nullptr;
  if (!grader) throw invalid_request(fmt::format("'{}' is required: it scores the sampled completions", param), param);
  try {
    make_grader(*grader, param, GraderContext{nullptr, ".", /*from_client=*/true});
  } catch (const Error& e) {
    throw invalid_request(e.what(), param);
  }
  return *grader;
}

}  // namespace

json normalise_hyperparameters(const json& given, const std::string& method, const std::string& where) {
  if (!given.is_null() && !given.is_object()) {
    const std::string param = where.empty() ? "hyperparameters" : where.substr(0, where.size() - 1);
    throw invalid_request(fmt::format("'{}' must be an object", param), param);
  }
  // "auto" stays until the run decides it from the data (train/auto_settings.h),
  // as `whet train` does; the job then reports the values that ran.
  json out = {
      {"n_epochs", hyper(given, "n_epochs", 1, 100, true, where)},
      {"batch_size", hyper(given, "batch_size", 1, 256, true, where)},
      // OpenAI scales its own learning rate by a multiplier; here it scales the automatic one.
      {"learning_rate_multiplier", hyper(given, "learning_rate_multiplier", 1e-3, 100, false, where)},
      {"learning_rate", hyper(given, "learning_rate", 1e-8, 1, false, where)},
      {"max_steps", or_default(hyper(given, "max_steps", -1, 1e7, true, where), -1)},
      {"save_steps", or_default(hyper(given, "save_steps", 1, 1e7, true, where), 10)},
      {"sequence_len", or_default(hyper(given, "sequence_len", 16, 32768, true, where), 512)},
  };
  if (trains_adapter(method)) {
    out["lora_r"] = hyper(given, "lora_r", 1, 1024, true, where);
    out["lora_alpha"] = hyper(given, "lora_alpha", 1, 4096, true, where);
  }
  // Unset keys of the objective are the trainer's defaults (docs/training.md).
  for (const RlHyperparameter& h : rl_hyperparameters(method))
    out[h.key] = hyper(given, h.key, h.low, h.high, h.integer, where);
  const TrainConfig defaults;
  if (!is_rl(method)) {  // the reference model holds an rl run near its start instead (docs/training.md)
    out["replay_data"] = word(given, "replay_data", {kBuiltinReplay, kNoReplay}, where);
    out["replay_ratio"] = or_default(hyper(given, "replay_ratio", 1e-3, 16, false, where), defaults.replay_ratio);
    if (trains_adapter(method)) out["distill_weight"] = hyper(given, "distill_weight", 0, 100, false, where);
    out["ewc_lambda"] = or_default(hyper(given, "ewc_lambda", 0, 1e12, false, where), defaults.ewc_lambda);
  }
  // The forgetting gate, as in a config (docs/config.md).
  out["forgetting_gate"] = flag(given, "forgetting_gate", defaults.forgetting_gate, where);
  out["max_perplexity_rise"] =
      or_default(hyper(given, "max_perplexity_rise", 0, 100, false, where), defaults.max_perplexity_rise);
  out["max_accuracy_drop"] =
      or_default(hyper(given, "max_accuracy_drop", 0, 1, false, where), defaults.max_accuracy_drop);
  // lora_model_dir is the server's own (an adapter made through /v1/adapters), never a client's.
  refuse_unknown(given, out, method, where);
  return out;
}

double job_learning_rate_scale(const Job& job) {
  const json& multiplier = job.hyperparameters.value("learning_rate_multiplier", json("auto"));
  return is_auto(multiplier) ? 1.0 : multiplier.get<double>();
}

void report_resolved_hyperparameters(Job& job, const TrainConfig& resolved) {
  json& h = job.hyperparameters;
  h["n_epochs"] = resolved.num_epochs;
  h["batch_size"] = resolved.micro_batch_size;
  h["learning_rate"] = resolved.learning_rate;
  if (is_auto(h.value("learning_rate_multiplier", json("auto")))) h["learning_rate_multiplier"] = 1.0;
  if (resolved.method == TrainMethod::Lora && resolved.lora_model_dir.empty()) {  // else the adapter's own
    h["lora_r"] = resolved.lora_r;
    h["lora_alpha"] = resolved.lora_alpha;
  }
  h["replay_data"] = replays(resolved) ? *resolved.replay_data : std::string(kNoReplay);
  if (resolved.method == TrainMethod::Lora) h["distill_weight"] = resolved.distill_weight;
  if (h.contains("beta")) h["beta"] = resolved.rl_beta;
}

void check_training_file(const std::string& path, const std::string& filename, const std::string& method,
                         const std::string& param) {
  const bool prompts = method == "grpo";
  const ValidationReport report = validate_jsonl(path, prompts ? DataFormat::Prompt : DataFormat::Auto, 1);
  auto suits = [&](DataFormat f) {
    if (prompts) return f == DataFormat::Prompt;
    if (!is_rl(method)) return is_supervised_format(f);
    return f == DataFormat::Preference || (method == "kto" && f == DataFormat::Kto);
  };
  const std::string wanted = prompts            ? "prompts ({\"messages\"} ending with the user's turn, or {\"prompt\"})"
                             : !is_rl(method)   ? "supervised examples (text, completion, chat or alpaca lines)"
                             : method == "kto"  ? "preference pairs or answers labelled true/false"
                                                : "preference pairs (prompt, chosen, rejected)";
  std::string found;
  for (size_t f = 0; f < kDataFormatCount; ++f)
    if (report.examples[f] > 0 && !suits(DataFormat(f)))
      found += fmt::format("{}{} {} line(s)", found.empty() ? "" : ", ", report.examples[f], data_format_name(DataFormat(f)));
  if (report.error_count > 0) {
    std::string first = report.errors.front();
    if (size_t at = first.find(path); at != std::string::npos) first.replace(at, path.size(), filename);
    found += fmt::format("{}{} line(s) that do not read as such, the first: {}", found.empty() ? "" : ", ",
                         report.error_count, first);
  }
  if (!found.empty())
    throw invalid_request(fmt::format("'{}' ({}) holds {}; a {} job trains on {}", param, filename, found, method, wanted),
                          param, "invalid_file");
}

Job parse_job_request(std::string_view text, const std::function<bool(const std::string&)>& is_base,
                      const std::function<bool(const std::string&)>& file_exists) {
  const json body = parse_request_object(text);
  Job job;
  job.model = string_field(body, "model", true);
  if (!is_base(job.model))
    throw not_found(fmt::format("the base model '{}' is not served here; fine-tuning starts from a base model "
                                "listed by GET /v1/models", job.model), "model", "model_not_found");
  job.training_file = string_field(body, "training_file", true);
  job.validation_file = string_field(body, "validation_file", false);
  for (const auto& [key, id] : {std::pair{"training_file", job.training_file}, {"validation_file", job.validation_file}})
    if (!id.empty() && !file_exists(id))
      throw invalid_request(fmt::format("'{}': no file with id '{}'", key, id), key, "file_not_found");
  job.suffix = string_field(body, "suffix", false);
  if (job.suffix.size() > 64) throw invalid_request("'suffix' must be at most 64 characters", "suffix");
  for (char c : job.suffix)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      throw invalid_request("'suffix' may hold letters, digits, '-' and '_' only", "suffix");

  // "method": a type word, or OpenAI's {"type": "supervised" | "dpo" | "reinforcement" | ...,
  // TYPE: {"hyperparameters": {...}, "grader": {...}}}.
  json given = body.contains("hyperparameters") ? body["hyperparameters"] : json(nullptr);
  std::string where = "hyperparameters.";
  job.method = "lora";
  if (const json* method = json_member(body, "method")) {
    const json* type = method->is_object() ? json_member(*method, "type") : method;
    if (!type || !type->is_string())
      throw invalid_request("'method' must be a method's name or {\"type\": ...}", "method");
    const std::string t = type->get<std::string>();
    job.method = job_method(t);
    if (job.method == "grpo") job.grader = job_grader(*method, t);
    if (method->is_object()) {
      const json* inner = json_member(*method, t);
      if (inner && inner->is_object() && inner->contains("hyperparameters")) {
        given = (*inner)["hyperparameters"];
        where = fmt::format("method.{}.hyperparameters.", t);
      }
    }
  }
  if (job.method == "grpo" && !job.validation_file.empty())
    throw invalid_request("'validation_file': a reinforcement job has no held-out evaluation yet; score the tuned "
                          "model with whet eval", "validation_file");
  job.hyperparameters = normalise_hyperparameters(given, job.method, where);
  return job;
}

TrainConfig job_train_config(const Job& job, const JobPaths& paths) {
  const json& h = job.hyperparameters;
  TrainConfig c;
  c.base_model = paths.base_model;
  c.output_dir = paths.output_dir;
  c.method = trains_adapter(job.method) ? TrainMethod::Lora : TrainMethod::Full;
  if (is_rl(job.method)) c.rl = job.method;
  if (!job.grader.is_null()) c.grader = job.grader;
  // The frozen base in fp32: several times faster to train through than a
  // quantized file decoded on every use, and jobs run one at a time.
  c.weights = "f32";
  c.train_data = {paths.train_file};
  if (!paths.validation_file.empty()) c.val_data = {paths.validation_file};
  // Values as given; "auto" leaves the key auto, and a key missing from a job
  // stored by an earlier version keeps its default.
  auto take = [&h](const char* key, auto& field) {
    if (h.contains(key) && !is_auto(h.at(key))) field = h.at(key).get<std::remove_reference_t<decltype(field)>>();
  };
  take("n_epochs", c.num_epochs);
  take("batch_size", c.micro_batch_size);
  take("learning_rate", c.learning_rate);
  take("max_steps", c.max_steps);
  take("save_steps", c.save_steps);
  take("sequence_len", c.sequence_len);
  if (const json replay = h.value("replay_data", json("auto")); !is_auto(replay)) {
    const std::string source = replay.get<std::string>();
    c.replay_data = source == kNoReplay ? "" : source;
  }
  take("replay_ratio", c.replay_ratio);
  take("ewc_lambda", c.ewc_lambda);
  take("forgetting_gate", c.forgetting_gate);
  take("max_perplexity_rise", c.max_perplexity_rise);
  take("max_accuracy_drop", c.max_accuracy_drop);
  take("beta", c.rl_beta);
  take("dpo_label_smoothing", c.dpo_label_smoothing);
  take("rpo_alpha", c.rpo_alpha);
  take("simpo_gamma", c.simpo_gamma);
  take("orpo_alpha", c.orpo_alpha);
  take("kto_desirable_weight", c.kto_desirable_weight);
  take("kto_undesirable_weight", c.kto_undesirable_weight);
  take("reward_center_coefficient", c.reward_center_coefficient);
  take("num_generations", c.num_generations);
  take("max_completion_length", c.max_completion_length);
  take("rollout_temperature", c.rollout_temperature);
  take("rollout_top_p", c.rollout_top_p);
  take("reward_target", c.reward_target);
  c.save_total_limit = 3;
  if (c.method == TrainMethod::Lora) {
    take("lora_r", c.lora_r);
    take("lora_alpha", c.lora_alpha);
    if (!aligns(c)) take("distill_weight", c.distill_weight);
    c.lora_model_dir = h.value("lora_model_dir", "");
  }
  return c;
}

}  // namespace whet::serve
