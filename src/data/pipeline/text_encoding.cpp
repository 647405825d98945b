#include "data/pipeline/text_encoding.h"

#include <utf8proc.h>

#include "core/error.h"

namespace whet {

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t at = 0;
  while (at < text.size()) {
    // ASCII needs no decoding; most text is mostly ASCII.
    if (bytes[at] < 0x80) {
      ++at;
      continue;
    }
    utf8proc_int32_t code_point;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes + at, utf8proc_ssize_t(text.size() - at), &code_point);
    if (n < 0) return at;
    at += size_t(n);
  }
  return std::nullopt;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  while (const std::optional<size_t> bad = invalid_utf8_at(text)) {
    out.append(text.substr(0, *bad));
    out.append("\xEF\xBF\xBD");
    text.remove_prefix(*bad + 1);
  }
  out.append(text);
  return out;
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += char(0xC0 | (c >> 6));
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

Decoded decode_text(std::string_view text, Encoding encoding, const std::string& where) {
  if (encoding == Encoding::Latin1) return {latin1_to_utf8(text), true};
  const std::optional<size_t> bad = invalid_utf8_at(text);
  if (!bad) return {std::string(text), false};
  if (encoding == Encoding::Utf8OrLatin1) return {latin1_to_utf8(text), true};
  fail(where, "invalid UTF-8 at byte {} (0x{:02x}); set `encoding: latin-1` or `utf-8-or-latin-1` on the source "
       "if the file is Latin-1", *bad + 1, static_cast<unsigned char>(text[*bad]));
}

}  // namespace whet
