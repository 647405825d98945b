#include "prepare/text_encoding.h"

#include "core/error.h"
#include "core/utf8.h"

namespace whet {

Decoded decode_text(std::string_view text, Encoding encoding, const std::string& where) {
  if (encoding == Encoding::Latin1) return {latin1_to_utf8(text), true};
  const std::optional<size_t> bad = invalid_utf8_at(text);
  if (!bad) return {std::string(text), false};
  if (encoding == Encoding::Utf8OrLatin1) return {latin1_to_utf8(text), true};
  fail(where, "invalid UTF-8 at byte {} (0x{:02x}); set `encoding: latin-1` or `utf-8-or-latin-1` on the source "
       "if the file is Latin-1", *bad + 1, static_cast<unsigned char>(text[*bad]));
}

}  // namespace whet
