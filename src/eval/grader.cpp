#include "eval/grader.h"

#include <fmt/format.h>

#include <algorithm>

#include "eval/grader_spec.h"
#include "io/yaml_config.h"

namespace whet {

const nlohmann::json& GraderSpec::at(const char* key) const {
  if (!has(key)) fail(where_, "{}: required but not set", path(key));
  return object_.at(key);
}

std::string GraderSpec::text(const char* key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_string()) reject(key, fmt::format("expected a string, got {}", value.type_name()));
  return value.get<std::string>();
}

std::string GraderSpec::text(const char* key, std::string fallback) const {
  return has(key) ? text(key) : std::move(fallback);
}

double GraderSpec::number(const char* key, double fallback, double min, double max) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = at(key);
  if (!value.is_number()) reject(key, fmt::format("expected a number, got {}", value.type_name()));
  const double x = value.get<double>();
  if (!(x >= min && x <= max)) reject(key, fmt::format("expected a number in [{}, {}], got {}", min, max, x));
  return x;
}

void GraderSpec::only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : object_.items()) {
    if (key == "type" || key == "name" || std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    reject(key, fmt::format("unknown key for a grader of type {} (its keys: type, name, {})", text("type"), list));
  }
}

void GraderSpec::reject(std::string_view key, std::string_view problem) const {
  fail(where_, "{}: {}", path(key), problem);
}

namespace {

constexpr std::string_view kTypes =
    "string_check, text_similarity, regex, json_schema, score_model, command, multi";

}  // namespace

nlohmann::json read_grader_file(const std::string& path) {
  const std::string text = yaml::read_config_file(path);
  // JSON is YAML: one reader, with its size, depth and duplicate-key guards.
  return yaml::yaml_to_json(yaml::parse_document(text, path, "type: string_check"), path);
}

std::unique_ptr<Grader> make_grader_at(const nlohmann::json& config, const std::string& where,
                                       const GraderContext& context, const std::string& path) {
  if (!config.is_object()) fail(where, "{}: expected a grader object (a mapping with a type), got {}", path,
                                config.type_name());
  const GraderSpec spec(config, where, path);
  const std::string type = spec.text("type");
  if (type == "string_check") return make_string_check(spec);
  if (type == "text_similarity") return make_text_similarity(spec);
  if (type == "regex") return make_regex_grader(spec);
  if (type == "json_schema") return make_json_schema_grader(spec);
  if (type == "command") return make_command_grader(spec, context);
  if (type == "score_model") return make_score_model_grader(spec, context);
  if (type == "multi") return make_multi_grader(spec, context);
  if (type == "python" || type == "label_model")
    spec.reject("type", fmt::format("{} graders run OpenAI's hosted code or models; use command or score_model (one of {})",
                                    type, kTypes));
  spec.reject("type", fmt::format("unknown grader type '{}' (one of {})", type, kTypes));
}

std::unique_ptr<Grader> make_grader(const nlohmann::json& config, const std::string& where,
                                    const GraderContext& context) {
  return make_grader_at(config, where, context, "grader");
}

}  // namespace whet
