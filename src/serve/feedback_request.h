#pragma once
// The body of POST /v1/feedback, read and checked field by field: a rating of
// one completion, or a choice between two. Every refusal is an ApiError (400)
// naming the field; whether the completions exist is the route's to check.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whet::serve {

// A choice of a completion response: its "id" and the choice's "index".
struct CompletionChoice {
  std::string id;
  int64_t choice_index = 0;
  friend bool operator==(const CompletionChoice&, const CompletionChoice&) = default;
};

struct FeedbackRequest {
  // One choice: a rating ({"completion_id", "choice_index"?, "rating", "preferred_output"?}).
  // Two: a comparison ({"completion_ids": [A, B], "choice_indices"?: [i, j], "preferred": 0|1}).
  std::vector<CompletionChoice> choices;
  std::string rating;                           // "up" or "down" (a rating)
  std::optional<std::string> preferred_output;  // with rating "down" only
  int64_t preferred = -1;                       // a comparison: 0 (A) or 1 (B)
  std::string comment;                          // optional, either kind

  bool comparison() const { return choices.size() == 2; }
  // The name of the field that names choice `i`, for errors about it.
  std::string choice_param(size_t i) const;
};

FeedbackRequest parse_feedback_request(std::string_view body);

}  // namespace whet::serve
