#include "serve/feedback_export.h"

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace whet::serve {

using nlohmann::json;

void count(Tally& tally, const std::string& label) {
  auto it = std::find_if(tally.begin(), tally.end(), [&](const auto& entry) { return entry.first == label; });
  if (it == tally.end()) tally.emplace_back(label, 1);
  else ++it->second;
}

json assistant(const std::string& text) { return json::array({{{"role", "assistant"}, {"content", text}}}); }

// Stored answers are valid UTF-8 already; the replacement only guards the file's validity.
std::string line_text(const json& line) { return line.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {

// One preference pair from a row, or the reason there is none.
void add_preference(const Feedback& f, FeedbackDataset& out) {
  std::string preferred, rejected, source;
  if (f.kind == "comparison") {
    preferred = f.completions[size_t(f.preferred)].answer;
    rejected = f.completions[size_t(1 - f.preferred)].answer;
    source = "A/B choices";
  } else if (f.rating == "up") {
    return count(out.skipped, "thumbs up (no rejected answer to pair it with; use --format kto)");
  } else if (!f.preferred_output) {
    return count(out.skipped, "thumbs down without a preferred_output (no preferred answer; use --format kto)");
  } else {
    preferred = *f.preferred_output;
    rejected = f.completions[0].answer;
    source = "thumbs down with a preferred_output";
  }
  if (preferred == rejected) return count(out.skipped, "preferred and rejected answers are the same text");
  out.lines.push_back(line_text({{"input", {{"messages", f.completions[0].prompt}}},
                                 {"preferred_output", assistant(preferred)},
                                 {"non_preferred_output", assistant(rejected)}}));
  count(out.written, source);
}

// A KTO example per rated answer, and one for the answer a thumbs down wanted instead.
void add_kto(const Feedback& f, FeedbackDataset& out) {
  if (f.kind == "comparison")
    return count(out.skipped, "A/B choices (a pair; use --format preference)");
  auto example = [&](const std::string& answer, bool label, const std::string& source) {
    out.lines.push_back(
        line_text({{"prompt", f.completions[0].prompt}, {"completion", assistant(answer)}, {"label", label}}));
    count(out.written, source);
  };
  const bool up = f.rating == "up";
  example(f.completions[0].answer, up, up ? "thumbs up (label true)" : "thumbs down (label false)");
  if (f.preferred_output) example(*f.preferred_output, true, "preferred_output of a thumbs down (label true)");
}

std::vector<Feedback> all_feedback(JobStore& store) {
  std::vector<Feedback> all;
  for (std::string after;;) {
    std::vector<Feedback> page = store.list_feedback(after, 1000);
    if (page.empty()) break;
    after = page.back().id;
    std::move(page.begin(), page.end(), std::back_inserter(all));
  }
  std::reverse(all.begin(), all.end());  // oldest first
  return all;
}

}  // namespace

std::optional<FeedbackFormat> feedback_format_from_name(std::string_view name) {
  if (name == "preference") return FeedbackFormat::Preference;
  if (name == "kto") return FeedbackFormat::Kto;
  return std::nullopt;
}

FeedbackDataset feedback_dataset(const std::vector<Feedback>& feedback, FeedbackFormat format) {
  FeedbackDataset out;
  for (const Feedback& f : feedback) {
    // Both formats hold conversations; a text completion's prompt is a bare string.
    if (!f.completions[0].prompt.is_array()) {
      count(out.skipped, "feedback on a text completion (/v1/completions has no messages to train a chat on)");
      continue;
    }
    if (format == FeedbackFormat::Preference) add_preference(f, out);
    else add_kto(f, out);
  }
  return out;
}

std::unique_ptr<JobStore> open_data_store(const std::string& data_dir) {
  const std::string db = data_dir + "/whet.sqlite";
  // Opening would create an empty database; a mistyped folder is an error instead.
  if (!std::filesystem::exists(db)) fail(data_dir, "no whet.sqlite here: not a data folder of whet serve (--data-dir)");
  return std::make_unique<JobStore>(db);
}

FeedbackDataset stored_feedback_dataset(const std::string& data_dir, FeedbackFormat format) {
  return feedback_dataset(all_feedback(*open_data_store(data_dir)), format);
}

std::string dataset_text(const FeedbackDataset& dataset) {
  std::string text;
  for (const std::string& line : dataset.lines) text += line + "\n";
  return text;
}

void write_dataset(const FeedbackDataset& dataset, const std::string& output) {
  AtomicFile file(output);
  file.write(dataset_text(dataset));
  file.commit();
}

FeedbackDataset export_feedback(const std::string& data_dir, FeedbackFormat format, const std::string& output) {
  FeedbackDataset dataset = stored_feedback_dataset(data_dir, format);
  write_dataset(dataset, output);
  return dataset;
}

}  // namespace whet::serve
