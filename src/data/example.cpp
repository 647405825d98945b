// JSONL line -> Example. Every complaint names the file, the line and the key,
// because a training file is often thousands of lines written by a script, and
// the user must be able to find and fix the one bad line.
#include "data/example.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/detect_format.h"
#include "data/json_line.h"

namespace whet {
namespace {

using json = nlohmann::json;

// The line is not an example: name what it is and what reads it.
[[noreturn]] void refuse_unsupervised(DataFormat format, const std::string& where) {
  const std::string what = format == DataFormat::Prompt
                               ? "a prompt without an answer (for online RL, method grpo)"
                               : fmt::format("preference data (for preference training, method {})",
                                             format == DataFormat::Kto ? "kto" : "dpo");
  fail(where, "format {}: {}, not a supervised example; supervised training reads text, completion, chat and "
              "alpaca lines", data_format_name(format), what);
}

bool is_weight_zero(const json& message, const std::string& path, const std::string& role, const std::string& where) {
  const json* weight = json_member(message, "weight");
  if (!weight) return false;
  if (role != "assistant") fail(where, "{}.weight: only assistant messages have a weight", path);
  if (!weight->is_number() || (*weight != 0 && *weight != 1)) fail(where, "{}.weight: expected 0 or 1", path);
  return *weight == 0;
}

void read_chat(const json& object, Example& example, const std::string& where) {
  const json& messages = json_messages(object, where);
  bool has_assistant = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    ChatMessage message = json_chat_message(messages[i], i, where);
    has_assistant |= message.role == "assistant";
    if (is_weight_zero(messages[i], fmt::format("messages[{}]", i), message.role, where)) example.untrained.push_back(i);
    example.messages.push_back(std::move(message));
  }
  if (json_member(object, "label")) {
    example.messages.push_back({"assistant", json_nonempty_string_at(object, "label", where)});
    has_assistant = true;
  }
  if (!has_assistant) fail(where, "messages: no assistant message to train on");
}

void read_alpaca(const json& object, Example& example, const std::string& where) {
  std::string user = json_nonempty_string_at(object, "instruction", where);
  if (json_member(object, "input")) {
    const std::string input = json_string_at(object, "input", "input", where);
    if (!input.empty()) user += "\n\n" + input;
  }
  example.messages = {{"user", std::move(user)}, {"assistant", json_nonempty_string_at(object, "output", where)}};
}

}  // namespace

std::string_view data_format_name(DataFormat format) { return kDataFormatNames[size_t(format)]; }

DataFormat parse_data_format(std::string_view name) {
  for (size_t i = 0; i < kDataFormatCount; ++i)
    if (kDataFormatNames[i] == name) return DataFormat(i);
  fail("data", "unknown format '{}' (known: {})", name, fmt::join(kDataFormatNames, ", "));
}

bool is_preference_format(DataFormat format) { return format == DataFormat::Preference || format == DataFormat::Kto; }

bool is_supervised_format(DataFormat format) {
  return format != DataFormat::Auto && !is_preference_format(format) && format != DataFormat::Prompt;
}

std::string label_continuation(std::string_view prompt, std::string_view label) {
  const bool separated = prompt.empty() || std::isspace(static_cast<unsigned char>(prompt.back()));
  return separated ? std::string(label) : " " + std::string(label);
}

std::string Example::where() const { return fmt::format("{}:{}", file, line); }

Example parse_example(std::string_view json_line, DataFormat format, const std::string& file, size_t line) {
  Example example;
  example.file = file;
  example.line = line;
  const std::string where = example.where();
  const json object = parse_json_line(json_line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  example.format = format == DataFormat::Auto ? detect_format(object, where) : format;
  if (!is_supervised_format(example.format)) refuse_unsupervised(example.format, where);
  switch (example.format) {
    case DataFormat::Text: example.text = json_nonempty_string_at(object, "text", where); break;
    case DataFormat::Completion:
      example.prompt = json_string_at(object, "prompt", "prompt", where);
      example.completion = json_member(object, "label") && !json_member(object, "completion")
                               ? label_continuation(example.prompt, json_nonempty_string_at(object, "label", where))
                               : json_nonempty_string_at(object, "completion", where);
      break;
    case DataFormat::Chat: read_chat(object, example, where); break;
    case DataFormat::Alpaca: read_alpaca(object, example, where); break;
    case DataFormat::Auto:
    case DataFormat::Preference:
    case DataFormat::Kto:
    case DataFormat::Prompt: WHET_ASSERT(false && "format left undetected or refused");
  }
  return example;
}

}  // namespace whet
