#pragma once
// The body of POST /v1/score: texts for a reward model to score, read and
// checked field by field. Every refusal is an ApiError (400) naming the field
// ("input[2].messages[1].role"); whether the model exists is the route's to check.
//   {"model": "NAME", "input": ITEM or [ITEM, ...]}, an ITEM being
//   "text"                                    raw text, scored as it is
//   {"messages": [..., {"role": "assistant", "content": ...}]}   a conversation
//                                             ending with the answer to score
//   {"prompt": "text" or [messages], "completion": "text"}        an answer after its prompt
// The answer is scored as training scored it: after its prompt, with its end marker.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "data/preference_example.h"

namespace whet::serve {

struct ScoreInput {
  PreferencePrompt prompt;  // raw text (possibly empty) or the conversation before the answer
  std::string completion;   // the answer (or the whole raw text)
};

struct ScoreRequest {
  std::string model;
  std::vector<ScoreInput> inputs;
};

// Throws ApiError (400) for malformed JSON, a missing, mistyped or unknown
// field, an empty answer, or more than max_inputs items.
ScoreRequest parse_score_request(std::string_view body, size_t max_inputs);

}  // namespace whet::serve
