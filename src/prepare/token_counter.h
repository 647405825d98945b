#pragma once
// Token lengths as training will see them: the model's tokenizer, and its chat
// template for conversations (Alpaca's when the model has none, as `whet train`
// does).
#include <memory>
#include <string>

#include "prepare/record.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

class TokenCounter {
 public:
  TokenCounter(const Tokenizer& tokenizer, ChatTemplate chat_template);
  // From a GGUF file or a Hugging Face model directory (only the tokenizer is
  // read). Throws whet::Error naming the path when neither is there.
  static TokenCounter from_model(const std::string& path);

  // Throws whet::Error "[file:line] ..." when the record cannot be tokenized.
  size_t count(const Record& record) const;

 private:
  std::shared_ptr<const Tokenizer> owned_;  // set when loaded from a model
  const Tokenizer* tokenizer_;
  ChatTemplate chat_template_;
};

}  // namespace whet
