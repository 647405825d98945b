#pragma once
// Example -> token ids with a loss flag per token. Deciding here, per token,
// what the model is trained to produce (by default only completions and
// assistant replies) keeps the sequence builder free of format knowledge.
#include <cstdint>
#include <vector>

#include "data/example.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

struct TokenizedExample {
  std::vector<int32_t> ids;
  std::vector<bool> loss;  // same length: the model is trained to predict ids[i]
};

// Text: [BOS] text EOS, loss on all. Completion: [BOS] prompt completion EOS, loss
// on completion and EOS. Chat and Alpaca: chat_template's rendering, loss on each
// assistant content and the end-of-turn marker closing it. BOS is added as the
// tokenizer's add_bos says for raw text; chat templates write their own.
// train_on_inputs puts loss on every token. Contents are never parsed for
// special tokens. Throws whet::Error "[file:line] ..." when the conversation
// cannot be rendered or the tokenizer has no EOS for raw text.
TokenizedExample tokenize_example(const Example& example, const Tokenizer& tokenizer,
                                  const ChatTemplate& chat_template, bool train_on_inputs);

}  // namespace whet
