#pragma once
// Prompts for online RL (GRPO): one JSONL line per prompt, holding "messages"
// (a conversation ending with the user's turn) or "prompt" (a string or
// messages), and any other fields the graders read as {{item.FIELD}}:
//   {"messages": [{"role": "user", "content": "What is 3 + 4?"}], "answer": "7"}
// Lines are read as every training file is (BOM, CRLF, blank lines; a bad line
// is an error with strict, else skipped and counted), and a prompt longer than
// sequence_len − max_completion_length loses its first tokens as a pair's does.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/data_stats.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

struct PromptItem {
  std::string where;            // "file:line"
  std::vector<int32_t> prompt;  // the tokens generation starts from
  nlohmann::json item;          // the whole line: what graders read as item
};

struct PromptDataset {
  std::vector<PromptItem> prompts;
  LineAccount account;
  size_t truncated = 0;  // prompts that lost their first tokens to fit

  std::string summary(const std::string& path) const;
};

// A prompt line's JSON object, or whet::Error "[where] ...".
nlohmann::json parse_prompt_object(std::string_view line, const std::string& where);
// Checks one line as load_prompt_dataset reads it, before tokenizing (whet data validate, the server's upload check).
void check_prompt_line(std::string_view line, const std::string& where);

// whet::Error naming the file when it cannot be read or holds no prompt.
PromptDataset load_prompt_dataset(const std::string& path, const Tokenizer& tokenizer, const ChatTemplate& chat,
                                  int sequence_len, int max_completion_length, bool strict);

}  // namespace whet
