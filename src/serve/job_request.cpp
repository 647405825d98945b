#include "serve/job_request.h"

#include <cmath>

#include "core/error.h"
#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/request_json.h"

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

// A hyperparameter: absent or "auto" gives the default; otherwise a number in [low, high].
double hyper(const json& given, const char* key, double low, double high, double fallback, bool integer,
             const std::string& where) {
  const json* v = given.is_object() ? json_member(given, key) : nullptr;
  const std::string param = where + key;
  if (!v || *v == "auto") return fallback;
  if (!v->is_number() || (integer && !v->is_number_integer()))
    throw invalid_request(fmt::format("'{}' must be {} or \"auto\"", param, integer ? "an integer" : "a number"), param);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < low || x > high)
    throw invalid_request(fmt::format("'{}' must be between {} and {}, got {}", param, low, high, v->dump()), param);
  return x;
}

}  // namespace

json normalise_hyperparameters(const json& given, const std::string& method, const std::string& where) {
  if (!given.is_null() && !given.is_object()) {
    const std::string param = where.empty() ? "hyperparameters" : where.substr(0, where.size() - 1);
    throw invalid_request(fmt::format("'{}' must be an object", param), param);
  }
  const bool lora = method == "lora";
  const double base_lr = lora ? 2e-4 : 2e-5;
  // OpenAI scales its own learning rate by a multiplier; here the multiplier scales the method's default.
  double lr = base_lr * hyper(given, "learning_rate_multiplier", 1e-3, 100, 1, false, where);
  lr = hyper(given, "learning_rate", 1e-8, 1, lr, false, where);
  json out = {
      {"n_epochs", int(hyper(given, "n_epochs", 1, 100, 3, true, where))},
      {"batch_size", int(hyper(given, "batch_size", 1, 256, 1, true, where))},
      {"learning_rate", lr},
      {"max_steps", int(hyper(given, "max_steps", -1, 1e7, -1, true, where))},
      {"save_steps", int(hyper(given, "save_steps", 1, 1e7, 10, true, where))},
      {"sequence_len", int(hyper(given, "sequence_len", 16, 32768, 512, true, where))},
  };
  if (lora) {
    out["lora_r"] = int(hyper(given, "lora_r", 1, 1024, 8, true, where));
    out["lora_alpha"] = int(hyper(given, "lora_alpha", 1, 4096, 2 * out["lora_r"].get<int>(), true, where));
  }
  return out;
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

  // "method": "lora" | "full", or OpenAI's {"type": "supervised", "supervised": {"hyperparameters": {...}}}.
  json given = body.contains("hyperparameters") ? body["hyperparameters"] : json(nullptr);
  std::string where = "hyperparameters.";
  job.method = "lora";
  if (const json* method = json_member(body, "method")) {
    const json* type = method->is_object() ? json_member(*method, "type") : method;
    if (!type || !type->is_string())
      throw invalid_request("'method' must be \"lora\", \"full\" or {\"type\": ...}", "method");
    const std::string t = type->get<std::string>();
    if (t != "supervised" && t != "lora" && t != "full")
      throw invalid_request(fmt::format("'method.type' must be supervised, lora or full, got '{}' "
                                        "(preference methods are not offered by this API)", t), "method.type");
    job.method = t == "full" ? "full" : "lora";
    if (method->is_object()) {
      const json* inner = json_member(*method, t);
      if (inner && inner->is_object() && inner->contains("hyperparameters")) {
        given = (*inner)["hyperparameters"];
        where = fmt::format("method.{}.hyperparameters.", t);
      }
    }
  }
  job.hyperparameters = normalise_hyperparameters(given, job.method, where);
  return job;
}

TrainConfig job_train_config(const Job& job, const JobPaths& paths) {
  const json& h = job.hyperparameters;
  TrainConfig c;
  c.base_model = paths.base_model;
  c.output_dir = paths.output_dir;
  c.method = job.method == "full" ? TrainMethod::Full : TrainMethod::Lora;
  // The frozen base in fp32: several times faster to train through than a
  // quantized file decoded on every use, and jobs run one at a time.
  c.weights = "f32";
  c.train_data = {paths.train_file};
  if (!paths.validation_file.empty()) c.val_data = {paths.validation_file};
  c.num_epochs = h.at("n_epochs").get<int>();
  c.micro_batch_size = h.at("batch_size").get<int>();
  c.learning_rate = h.at("learning_rate").get<double>();
  c.max_steps = h.at("max_steps").get<int>();
  c.save_steps = h.at("save_steps").get<int>();
  c.sequence_len = h.at("sequence_len").get<int>();
  c.save_total_limit = 3;
  if (c.method == TrainMethod::Lora) {
    c.lora_r = h.at("lora_r").get<int>();
    c.lora_alpha = h.at("lora_alpha").get<int>();
    c.lora_model_dir = h.value("lora_model_dir", "");
  }
  return c;
}

}  // namespace whet::serve
