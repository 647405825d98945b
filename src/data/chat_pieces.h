#pragma once
// A rendered conversation cut into the template's own text and the messages'
// contents. The two must be tokenized differently: the template's special
// tokens (<|im_start|>) are parsed as such, while the same text inside a
// message is plain text, or a user could forge turns. The cut also gives the
// loss mask its exact character spans.
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"

namespace whet {

struct ChatPiece {
  std::string text;
  bool content = false;  // a message's content (else template text)
  // The message this piece is the content of, or, for an assistant message, the
  // end-of-turn marker that closes it (with any whitespace before it); -1 otherwise.
  int message = -1;
};

// Concatenated, the pieces are exactly chat_template.render(messages, false).
// Throws whet::Error when a template does not place the messages where they can
// be found, or an assistant message is not closed by the template's end of turn.
std::vector<ChatPiece> chat_pieces(const ChatTemplate& chat_template, const std::vector<ChatMessage>& messages);

}  // namespace whet
