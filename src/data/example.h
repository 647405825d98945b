#pragma once
// One training example as a JSONL line describes it, before tokenization. The
// four formats users bring from Axolotl, torchtune and OpenAI fine-tuning are
// recognised per line from their keys, so one file may mix them. Preference
// lines (data/preference_example.h) are told apart by the same keys, and
// refused here: supervised training never takes a pair for an example.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_template.h"

namespace whet {

enum class DataFormat {
  Auto,        // detected per line from its keys
  Text,        // {"text"}: continued pretraining, loss on every token
  Completion,  // {"prompt", "completion"} or {"prompt", "label"}: raw text, loss on the completion and EOS
  Chat,        // {"messages": [{"role", "content"}, ...], "label"?}: OpenAI chat, through the chat template;
               // a label becomes the assistant's reply
  Alpaca,      // {"instruction", "input"?, "output"}: one user turn and one assistant turn
  Preference,  // a pair for preference training: {"prompt"?, "chosen", "rejected"} or OpenAI's
               // {"input", "preferred_output", "non_preferred_output"} (data/preference_example.h)
  Kto,         // one answer judged good or bad: {"prompt", "completion", "label": true|false}
  Prompt,      // a prompt alone, for online RL (rl grpo): {"messages"} ending with the user's turn, or {"prompt"},
               // with any fields graders read (data/prompt_dataset.h); never detected (its keys are a chat
               // example's), only named
};
constexpr size_t kDataFormatCount = 8;
// Indexed by DataFormat: the names configs and data files use.
inline constexpr std::string_view kDataFormatNames[kDataFormatCount] = {"auto",   "text",       "completion", "chat",
                                                                        "alpaca", "preference", "kto",
                                                                        "prompt"};

std::string_view data_format_name(DataFormat format);
// A name of kDataFormatNames; throws whet::Error for anything else.
DataFormat parse_data_format(std::string_view name);
// Preference or Kto: read by data/preference_example.h, not as an Example.
bool is_preference_format(DataFormat format);
// Text, completion, chat or alpaca: an Example that supervised training reads.
bool is_supervised_format(DataFormat format);

struct Example {
  DataFormat format = DataFormat::Text;  // never Auto
  std::string file;                      // where the example came from, for error messages
  size_t line = 0;
  std::string text;                    // Text
  std::string prompt, completion;      // Completion
  std::vector<ChatMessage> messages;   // Chat, and Alpaca turned into a conversation
  std::vector<size_t> untrained;       // assistant messages with OpenAI's "weight": 0 (no loss on them)

  std::string where() const;  // "file:line"
};

// A labelled line ({"prompt", "label"}) trains and is scored on the label after
// one space, as lm-evaluation-harness joins prompt and target, unless the
// prompt already ends in whitespace. Training and `whet eval` share this rule.
std::string label_continuation(std::string_view prompt, std::string_view label);

// Parses one JSONL line (without its line ending). `format` Auto detects it from
// the keys. Throws whet::Error "[file:line] key: problem" for malformed input:
// invalid JSON or UTF-8, deep nesting, wrong types, empty or unknown fields,
// and for a preference line (or a `format` that is a preference format).
Example parse_example(std::string_view json_line, DataFormat format, const std::string& file, size_t line);

}  // namespace whet
