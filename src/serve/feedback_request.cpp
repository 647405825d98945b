#include "serve/feedback_request.h"

#include <fmt/format.h>

#include <algorithm>

#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/request_json.h"

namespace whet::serve {

namespace {

using nlohmann::json;

constexpr int64_t kMaxChoiceIndex = 1 << 20;  // far above any n the server allows

// Typos such as "prefered" must not pass as feedback without the field they meant.
void refuse_unknown_fields(const json& body) {
  static const std::vector<std::string> known = {"completion_id", "choice_index",   "rating",    "preferred_output",
                                                 "comment",       "completion_ids", "choice_indices", "preferred"};
  for (const auto& [key, value] : body.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw invalid_request(fmt::format("'{}' is not a field of a feedback request", key), key);
}

void refuse_present(const json& body, const char* key, std::string_view why) {
  if (json_member(body, key)) throw invalid_request(fmt::format("'{}' {}", key, why), key);
}

std::string nonempty_string(const json& value, const std::string& param) {
  if (!value.is_string() || value.get<std::string>().empty())
    throw invalid_request(fmt::format("'{}' must be a non-empty string", param), param);
  return value.get<std::string>();
}

int64_t integer_in(const json& value, const std::string& param, int64_t low, int64_t high) {
  const bool in_range = value.is_number_integer() && !(value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(high)) &&
                        value.get<int64_t>() >= low && value.get<int64_t>() <= high;
  if (!in_range) throw invalid_request(fmt::format("'{}' must be an integer from {} to {}", param, low, high), param);
  return value.get<int64_t>();
}

// An array of exactly two items, or the error naming it.
const json& pair_at(const json& body, const char* key, std::string_view what) {
  const json& v = *json_member(body, key);
  if (!v.is_array() || v.size() != 2)
    throw invalid_request(fmt::format("'{}' must be an array of two {}", key, what), key);
  return v;
}

void parse_rating(const json& body, FeedbackRequest& r) {
  for (const char* key : {"choice_indices", "preferred"})
    refuse_present(body, key, "belongs to a comparison ('completion_ids'), not a rating of one completion");
  r.choices.push_back({nonempty_string(*json_member(body, "completion_id"), "completion_id"), 0});
  if (const json* index = json_member(body, "choice_index"))
    r.choices[0].choice_index = integer_in(*index, "choice_index", 0, kMaxChoiceIndex);
  const json* rating = json_member(body, "rating");
  if (!rating) throw invalid_request("'rating' is required: \"up\" or \"down\"", "rating");
  if (*rating != "up" && *rating != "down")
    throw invalid_request(fmt::format("'rating' must be \"up\" or \"down\", got {}", rating->dump()), "rating");
  r.rating = rating->get<std::string>();
  if (const json* preferred = json_member(body, "preferred_output")) {
    if (r.rating != "down")
      throw invalid_request("'preferred_output' goes with \"rating\": \"down\" (the answer the user wanted instead)",
                            "preferred_output");
    r.preferred_output = nonempty_string(*preferred, "preferred_output");
  }
}

void parse_comparison(const json& body, FeedbackRequest& r) {
  for (const char* key : {"choice_index", "rating", "preferred_output"})
    refuse_present(body, key, "belongs to a rating of one completion ('completion_id'), not a comparison");
  const json& ids = pair_at(body, "completion_ids", "completion ids [A, B]");
  for (size_t i = 0; i < 2; ++i)
    r.choices.push_back({nonempty_string(ids[i], fmt::format("completion_ids[{}]", i)), 0});
  if (json_member(body, "choice_indices")) {
    const json& indices = pair_at(body, "choice_indices", "choice indices [i, j]");
    for (size_t i = 0; i < 2; ++i)
      r.choices[i].choice_index = integer_in(indices[i], fmt::format("choice_indices[{}]", i), 0, kMaxChoiceIndex);
  }
  if (r.choices[0] == r.choices[1])
    throw invalid_request("'completion_ids' must name two different completions (or choices of one)",
                          "completion_ids");
  const json* preferred = json_member(body, "preferred");
  if (!preferred) throw invalid_request("'preferred' is required: 0 (the first completion) or 1", "preferred");
  r.preferred = integer_in(*preferred, "preferred", 0, 1);
}

}  // namespace

std::string FeedbackRequest::choice_param(size_t i) const {
  return comparison() ? fmt::format("completion_ids[{}]", i) : "completion_id";
}

FeedbackRequest parse_feedback_request(std::string_view text) {
  const json body = parse_request_object(text);
  refuse_unknown_fields(body);
  const bool one = json_member(body, "completion_id") != nullptr;
  const bool two = json_member(body, "completion_ids") != nullptr;
  if (one && two)
    throw invalid_request("give 'completion_id' (a rating) or 'completion_ids' (a comparison), not both",
                          "completion_ids");
  if (!one && !two)
    throw invalid_request("'completion_id' is required (or 'completion_ids' for a comparison of two)",
                          "completion_id");
  FeedbackRequest r;
  if (one) parse_rating(body, r);
  else parse_comparison(body, r);
  if (const json* comment = json_member(body, "comment")) {
    if (!comment->is_string()) throw invalid_request("'comment' must be a string", "comment");
    r.comment = comment->get<std::string>();
  }
  return r;
}

}  // namespace whet::serve
