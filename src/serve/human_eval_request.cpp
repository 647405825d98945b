#include "serve/human_eval_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/human_eval.h"
#include "serve/request_json.h"

namespace whet::serve {

namespace {

using nlohmann::json;

constexpr size_t kMaxRaterBytes = 200;
constexpr size_t kMaxModels = 16;  // 120 pairs: more than anyone rates

// A typo such as "temprature" must not pass as a session without the field it meant.
void refuse_unknown_fields(const json& body, const std::vector<std::string_view>& known, std::string_view what) {
  for (const auto& [key, value] : body.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw invalid_request(fmt::format("'{}' is not a field of {}", key, what), key);
}

std::string nonempty_string(const json* value, const std::string& param) {
  if (!value) throw invalid_request(fmt::format("'{}' is required", param), param);
  if (!value->is_string() || value->get_ref<const std::string&>().empty())
    throw invalid_request(fmt::format("'{}' must be a non-empty string", param), param);
  return value->get<std::string>();
}

std::vector<std::string> model_names(const json& body) {
  const json* models = json_member(body, "models");
  if (!models) throw invalid_request("'models' is required: the names of two or more served models", "models");
  if (!models->is_array() || models->size() < 2 || models->size() > kMaxModels)
    throw invalid_request(fmt::format("'models' must be an array of 2 to {} model names", kMaxModels), "models");
  std::vector<std::string> names;
  for (size_t i = 0; i < models->size(); ++i) {
    const std::string param = fmt::format("models[{}]", i);
    std::string name = nonempty_string(&(*models)[i], param);
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw invalid_request(fmt::format("'{}' names '{}' a second time; compare different models", param, name), param);
    names.push_back(std::move(name));
  }
  return names;
}

int64_t integer_in(const json& body, const char* key, int64_t low, int64_t high, int64_t fallback) {
  const json* v = json_member(body, key);
  if (!v) return fallback;
  const bool in_range = v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(high)) &&
                        v->get<int64_t>() >= low && v->get<int64_t>() <= high;
  if (!in_range) throw invalid_request(fmt::format("'{}' must be an integer from {} to {}, got {}", key, low, high, v->dump()), key);
  return v->get<int64_t>();
}

}  // namespace

std::string checked_rater(const std::string& rater, const std::string& param) {
  if (rater.empty()) throw invalid_request(fmt::format("'{}' is required: the rater's name", param), param);
  if (rater.size() > kMaxRaterBytes)
    throw invalid_request(fmt::format("'{}' must be at most {} bytes", param, kMaxRaterBytes), param);
  return rater;
}

SessionRequest parse_session_request(std::string_view text, int max_tokens) {
  const json body = parse_request_object(text);
  refuse_unknown_fields(body, {"name", "task", "models", "max_tokens", "temperature", "seed"},
                        "a human evaluation session");
  SessionRequest r;
  r.task = nonempty_string(json_member(body, "task"), "task");
  r.name = json_member(body, "name") ? nonempty_string(json_member(body, "name"), "name") : r.task;
  r.models = model_names(body);
  r.max_tokens = int(integer_in(body, "max_tokens", 1, max_tokens, std::min(max_tokens, r.max_tokens)));
  if (const json* t = json_member(body, "temperature")) {
    if (!t->is_number() || !std::isfinite(t->get<double>()) || t->get<double>() < 0 || t->get<double>() > 2)
      throw invalid_request(fmt::format("'temperature' must be a number from 0 to 2, got {}", t->dump()), "temperature");
    r.temperature = t->get<double>();
  }
  r.seed = uint64_t(integer_in(body, "seed", 0, INT64_MAX, 0));
  return r;
}

RatingRequest parse_rating_request(std::string_view text) {
  const json body = parse_request_object(text);
  refuse_unknown_fields(body, {"item_id", "rater", "choice", "comment"}, "a rating");
  RatingRequest r;
  r.item_id = nonempty_string(json_member(body, "item_id"), "item_id");
  r.rater = checked_rater(nonempty_string(json_member(body, "rater"), "rater"), "rater");
  const json* choice = json_member(body, "choice");
  const auto& choices = kHumanEvalChoices;
  if (!choice || !choice->is_string() ||
      std::find(std::begin(choices), std::end(choices), choice->get_ref<const std::string&>()) == std::end(choices))
    throw invalid_request(fmt::format("'choice' must be \"A\", \"B\", \"tie\" or \"both_bad\", got {}",
                                      choice ? choice->dump() : "nothing"),
                          "choice");
  r.choice = choice->get<std::string>();
  if (const json* comment = json_member(body, "comment")) {
    if (!comment->is_string() && !comment->is_null()) throw invalid_request("'comment' must be a string", "comment");
    if (comment->is_string()) r.comment = comment->get<std::string>();
  }
  return r;
}

}  // namespace whet::serve
