#include "tune/distribution_json.h"

#include <cmath>

#include "core/error.h"

namespace whet::tune {
namespace {

using Kind = Distribution::Kind;

const nlohmann::json& attribute(const nlohmann::json& attributes, const char* key, std::string_view where) {
  if (!attributes.contains(key)) fail(where, "distribution_json: attributes has no '{}'", key);
  return attributes.at(key);
}

double number(const nlohmann::json& attributes, const char* key, std::string_view where) {
  const nlohmann::json& value = attribute(attributes, key, where);
  if (!value.is_number()) fail(where, "distribution_json: '{}' must be a number, not {}", key, value.dump());
  return value.get<double>();
}

bool boolean(const nlohmann::json& attributes, const char* key, std::string_view where) {
  const nlohmann::json& value = attribute(attributes, key, where);
  if (!value.is_boolean()) fail(where, "distribution_json: '{}' must be true or false, not {}", key, value.dump());
  return value.get<bool>();
}

Distribution float_from_json(const nlohmann::json& attributes, std::string_view where) {
  Distribution d{.kind = Kind::Float};
  d.low = number(attributes, "low", where);
  d.high = number(attributes, "high", where);
  d.log = boolean(attributes, "log", where);
  // Optuna writes "step": null for a continuous range; Whet says step 0.
  if (!attribute(attributes, "step", where).is_null()) d.step = number(attributes, "step", where);
  return d;
}

Distribution int_from_json(const nlohmann::json& attributes, std::string_view where) {
  Distribution d{.kind = Kind::Int};
  d.low = number(attributes, "low", where);
  d.high = number(attributes, "high", where);
  d.log = boolean(attributes, "log", where);
  d.step = number(attributes, "step", where);
  return d;
}

Distribution categorical_from_json(const nlohmann::json& attributes, std::string_view where) {
  const nlohmann::json& choices = attribute(attributes, "choices", where);
  if (!choices.is_array() || choices.empty())
    fail(where, "distribution_json: 'choices' must be a list of at least one value, not {}", choices.dump());
  return Distribution{.kind = Kind::Categorical, .choices = choices.get<std::vector<nlohmann::json>>()};
}

}  // namespace

nlohmann::ordered_json distribution_to_json(const Distribution& d) {
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  switch (d.kind) {
    case Kind::Float:
      attributes["step"] = d.step > 0 ? nlohmann::ordered_json(d.step) : nlohmann::ordered_json(nullptr);
      attributes["low"] = d.low;
      attributes["high"] = d.high;
      attributes["log"] = d.log;
      return {{"name", "FloatDistribution"}, {"attributes", attributes}};
    case Kind::Int:
      attributes["log"] = d.log;
      attributes["step"] = std::llround(d.step);
      attributes["low"] = std::llround(d.low);
      attributes["high"] = std::llround(d.high);
      return {{"name", "IntDistribution"}, {"attributes", attributes}};
    case Kind::Categorical:
      attributes["choices"] = d.choices;
      return {{"name", "CategoricalDistribution"}, {"attributes", attributes}};
  }
  WHET_ASSERT(false);
}

Distribution distribution_from_json(const nlohmann::json& json, std::string_view where) {
  if (!json.is_object() || !json.contains("name") || !json.contains("attributes") || !json["name"].is_string() ||
      !json["attributes"].is_object())
    fail(where, "distribution_json: not an Optuna distribution ({{\"name\": ..., \"attributes\": {{...}}}}): {}",
         json.dump());
  const std::string name = json["name"];
  const nlohmann::json& attributes = json["attributes"];
  if (name == "FloatDistribution") return float_from_json(attributes, where);
  if (name == "IntDistribution") return int_from_json(attributes, where);
  if (name == "CategoricalDistribution") return categorical_from_json(attributes, where);
  fail(where,
       "distribution_json: '{}' is not one Whet reads (FloatDistribution, IntDistribution, CategoricalDistribution; "
       "Optuna writes only these since 3.0)",
       name);
}

}  // namespace whet::tune
