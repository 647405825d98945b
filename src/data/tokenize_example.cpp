// Token-level loss masks are built from text pieces tokenized one at a time, so
// that a mask boundary never falls inside a token.
#include "data/tokenize_example.h"

#include <algorithm>

#include "core/error.h"
#include "data/chat_pieces.h"

namespace whet {
namespace {

bool adds_bos(const Tokenizer& tokenizer) { return tokenizer.spec().add_bos && tokenizer.spec().bos_id >= 0; }

void append_token(TokenizedExample& out, int32_t id, bool loss) {
  out.ids.push_back(id);
  out.loss.push_back(loss);
}

// Pieces are tokenized one by one so that a loss span starts and ends on a token
// boundary; encode() would put a BOS before every piece, which is removed.
void append_text(TokenizedExample& out, const Tokenizer& tokenizer, std::string_view text, bool parse_special,
                 bool loss) {
  if (text.empty()) return;
  const std::vector<int32_t> ids = tokenizer.encode(text, parse_special);
  const size_t first = adds_bos(tokenizer) ? 1 : 0;
  out.ids.insert(out.ids.end(), ids.begin() + first, ids.end());
  out.loss.insert(out.loss.end(), ids.size() - first, loss);
}

// Raw text ends with EOS, so the model learns where a document or answer stops.
TokenizedExample raw_text(const Tokenizer& tokenizer, std::string_view prompt, std::string_view completion,
                          bool train_on_prompt) {
  const int32_t eos = tokenizer.spec().eos_id;
  if (eos < 0) fail("tokenizer", "no EOS token to end raw text with");
  TokenizedExample out;
  if (adds_bos(tokenizer)) append_token(out, tokenizer.spec().bos_id, train_on_prompt);
  append_text(out, tokenizer, prompt, false, train_on_prompt);
  append_text(out, tokenizer, completion, false, true);
  append_token(out, eos, true);
  return out;
}

TokenizedExample conversation(const Example& example, const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                              bool train_on_inputs) {
  auto trained = [&](int message) {
    return message >= 0 && example.messages[message].role == "assistant" &&
           std::find(example.untrained.begin(), example.untrained.end(), size_t(message)) == example.untrained.end();
  };
  TokenizedExample out;
  for (const ChatPiece& piece : chat_pieces(chat_template, example.messages))
    append_text(out, tokenizer, piece.text, !piece.content, train_on_inputs || trained(piece.message));
  return out;
}

}  // namespace

TokenizedExample tokenize_example(const Example& example, const Tokenizer& tokenizer,
                                  const ChatTemplate& chat_template, bool train_on_inputs) {
  try {
    switch (example.format) {
      case DataFormat::Text: return raw_text(tokenizer, "", example.text, true);
      case DataFormat::Completion: return raw_text(tokenizer, example.prompt, example.completion, train_on_inputs);
      case DataFormat::Chat:
      case DataFormat::Alpaca: return conversation(example, tokenizer, chat_template, train_on_inputs);
      case DataFormat::Auto:
      case DataFormat::Preference:
      case DataFormat::Kto:
      case DataFormat::Prompt: break;
    }
  } catch (const Error& e) {
    fail(example.where(), "{}", e.what());
  }
  WHET_ASSERT(false && "example without a format");
}

}  // namespace whet
