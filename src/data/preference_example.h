#pragma once
// A preference line as a JSONL file describes it, before tokenization: a
// prompt with two answers, one preferred (DPO and its family), or a prompt with
// one answer judged desirable or not (KTO). Three shapes are read, told apart
// per line by their keys (data/detect_format.h):
//   OpenAI's preference fine-tuning: {"input": {"messages": [...]},
//     "preferred_output": [assistant message], "non_preferred_output": [assistant message]}
//   TRL's preference: {"prompt", "chosen", "rejected"}, strings (raw text) or
//     message lists; without "prompt", chosen and rejected are whole conversations
//     and the turns they share are the prompt (TRL's implicit prompt)
//   KTO (TRL's unpaired preference): {"prompt", "completion", "label": true|false}
// A pair may carry a finite number "margin" (TRL's RewardTrainer column), which
// a reward model's loss subtracts from the reward difference; the other
// methods ignore it. An answer is one assistant message (or raw text), never empty; a pair whose
// answers are the same teaches nothing (zero gradient, a tie) and is an error.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/example.h"
#include "tokenizer/chat_template.h"

namespace whet {

// What the answers respond to: a conversation, which goes through the chat
// template with the generation prompt, or raw text (TRL's standard form),
// which goes as it is, after BOS when the tokenizer adds one.
struct PreferencePrompt {
  std::vector<ChatMessage> messages;  // a conversation, not empty; or empty for raw text
  std::string text;                   // the raw text (may be empty) when messages is empty

  bool chat() const { return !messages.empty(); }
};

struct PreferenceExample {
  std::string file;  // where the pair came from, for error messages
  size_t line = 0;
  PreferencePrompt prompt;
  std::string chosen, rejected;  // the assistant's replies, or the raw text that follows the prompt
  double margin = 0;  // optional "margin": how much more the chosen is preferred (reward models; TRL's column)

  std::string where() const;  // "file:line"
};

struct UnpairedExample {
  std::string file;
  size_t line = 0;
  PreferencePrompt prompt;
  std::string completion;
  bool desirable = true;  // the label

  std::string where() const;
};

using PreferenceLine = std::variant<PreferenceExample, UnpairedExample>;

// Parses one JSONL line (without its line ending). `format` is Auto (detected
// from the keys), Preference or Kto. Throws whet::Error "[file:line] key: problem"
// for malformed input (invalid JSON or UTF-8, wrong types, missing or empty
// answers, identical answers, tools in OpenAI's input) and for a supervised
// line or format, which preference training does not read.
PreferenceLine parse_preference_line(std::string_view json_line, DataFormat format, const std::string& file,
                                     size_t line);

// The prompt of an RL prompt line (data/prompt_dataset.h): "messages" (OpenAI's
// conversation, not ending with an assistant turn) or "prompt" (a string or
// messages, as TRL's prompt-only data). whet::Error "[where] key: ..." otherwise.
PreferencePrompt parse_rl_prompt(const nlohmann::json& object, const std::string& where);

}  // namespace whet
