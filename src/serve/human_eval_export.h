#pragma once
// A human evaluation session's ratings as preference data (`whet feedback
// export --human-eval SESSION`), in OpenAI's preference JSONL: {"input":
// {"messages"}, "preferred_output": [assistant message], "non_preferred_output":
// [assistant message]}. Each rating that picked A or B is one pair (raters who
// disagree give opposite pairs, as they said); a tie or both_bad picks no
// answer over the other and is counted, not written, as is a raw-text prompt,
// which has no messages.
#include <string>
#include <vector>

#include "serve/feedback_export.h"
#include "serve/human_eval.h"

namespace whet::serve {

FeedbackDataset human_eval_dataset(const std::vector<HumanEvalPrompt>& prompts,
                                   const std::vector<HumanEvalAnswer>& answers,
                                   const std::vector<HumanEvalItem>& items,
                                   const std::vector<HumanEvalRating>& ratings);

// A ready session's pairs as the store holds them: what `whet feedback export
// --human-eval` writes and GET /v1/human_eval/sessions/{id}/export returns.
// whet::Error naming `where` for an unknown session or one still generating.
FeedbackDataset human_eval_session_dataset(JobStore& store, const std::string& session_id, const std::string& where);

// Reads DATA_DIR/whet.sqlite and writes the session's pairs to `output` atomically.
FeedbackDataset export_human_eval(const std::string& data_dir, const std::string& session_id,
                                  const std::string& output);

}  // namespace whet::serve
