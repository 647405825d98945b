#pragma once
// Bytes from outside become UTF-8 here, once, so every later stage (utf8proc,
// JSON output) can rely on valid UTF-8.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "data/pipeline/pipeline_config.h"

namespace whet {

// The offset of the first byte that does not belong to a valid UTF-8 sequence
// (overlong forms and surrogates included); nullopt when the text is valid.
std::optional<size_t> invalid_utf8_at(std::string_view text);
std::string latin1_to_utf8(std::string_view text);
// Every byte that is not part of a valid sequence replaced by U+FFFD (for model
// output, which may end inside a character or hold stray byte tokens).
std::string replace_invalid_utf8(std::string_view text);

struct Decoded {
  std::string text;
  bool transcoded = false;  // was read as Latin-1
};

// `text` as UTF-8 under `encoding`. Throws whet::Error "[where] invalid UTF-8 at
// byte N ..." when encoding is utf-8 and the text is not.
Decoded decode_text(std::string_view text, Encoding encoding, const std::string& where);

}  // namespace whet
