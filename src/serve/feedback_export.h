#pragma once
// `whet feedback export`: the feedback a server collected as a training set.
//   preference: OpenAI's preference JSONL, {"input": {"messages"}, "preferred_output": [assistant message],
//               "non_preferred_output": [assistant message]}, from A/B choices and from thumbs down
//               that name the answer wanted instead;
//   kto:        {"prompt": messages, "completion": [assistant message], "label": true|false}, from thumbs
//               up (true) and down (false), and a thumbs down's preferred output (true).
// Every feedback row is either written or counted under the reason it was not.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "serve/job_store.h"

namespace whet::serve {

enum class FeedbackFormat { Preference, Kto };
std::optional<FeedbackFormat> feedback_format_from_name(std::string_view name);  // "preference", "kto"

// Counts under a label, in the order the labels first appeared.
using Tally = std::vector<std::pair<std::string, int64_t>>;

struct FeedbackDataset {
  std::vector<std::string> lines;  // JSON lines, without newlines, in the feedback's order
  Tally written;                   // lines by where they came from
  Tally skipped;                   // feedback rows not used, by reason
};

// One more under `label`.
void count(Tally& tally, const std::string& label);
// [{"role": "assistant", "content": text}]: an answer as the preference formats hold it.
nlohmann::json assistant(const std::string& text);
// A JSON line of a dataset (invalid UTF-8 replaced, so the file stays valid).
std::string line_text(const nlohmann::json& line);

// The dataset from `feedback`, oldest first.
FeedbackDataset feedback_dataset(const std::vector<Feedback>& feedback, FeedbackFormat format);

// DATA_DIR/whet.sqlite opened (a server may be running on it); an error if it is not there.
std::unique_ptr<JobStore> open_data_store(const std::string& data_dir);
// The dataset from DATA_DIR/whet.sqlite, read now (a server may be running on it).
FeedbackDataset stored_feedback_dataset(const std::string& data_dir, FeedbackFormat format);
// The dataset as a JSONL file holds it: each line ended by a newline.
std::string dataset_text(const FeedbackDataset& dataset);
// The dataset's lines written to `output` atomically.
void write_dataset(const FeedbackDataset& dataset, const std::string& output);

// Reads DATA_DIR/whet.sqlite (a server may be running on it) and writes the
// dataset to `output` atomically.
FeedbackDataset export_feedback(const std::string& data_dir, FeedbackFormat format, const std::string& output);

}  // namespace whet::serve
