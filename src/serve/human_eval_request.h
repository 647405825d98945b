#pragma once
// The bodies of POST /v1/human_eval/sessions and POST .../ratings, read and
// checked field by field. Every refusal is an ApiError (400) naming the field;
// whether the task, models and items exist is the route's to check.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whet::serve {

struct SessionRequest {
  std::string name;  // defaults to the task
  std::string task;  // a path under the data folder, or an uploaded file's id
  std::vector<std::string> models;
  int max_tokens = 256;
  double temperature = 0;
  uint64_t seed = 0;
};

// `max_tokens` is the server's cap on an answer (--max-tokens); the default is the smaller of it and 256.
SessionRequest parse_session_request(std::string_view body, int max_tokens);

struct RatingRequest {
  std::string item_id, rater, choice, comment;
};

RatingRequest parse_rating_request(std::string_view body);

// A rater's name as a query parameter or field (`param`): non-empty, at most 200 bytes.
std::string checked_rater(const std::string& rater, const std::string& param);

}  // namespace whet::serve
