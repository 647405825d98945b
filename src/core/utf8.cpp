#include "core/utf8.h"

#include <fmt/format.h>
#include <utf8proc.h>

namespace whet {
namespace {

// Length of the valid UTF-8 sequence at the start of `text`; negative when the bytes there are not one.
utf8proc_ssize_t sequence_length(std::string_view text) {
  utf8proc_int32_t code_point;
  return utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()),
                          &code_point);
}

bool is_printable_ascii(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\t'; }

}  // namespace

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  size_t at = 0;
  while (at < text.size()) {
    // ASCII needs no decoding; most text is mostly ASCII.
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    const utf8proc_ssize_t n = sequence_length(text.substr(at));
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

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c < 0x80) {
      if (is_printable_ascii(c)) out += char(c);
      else out += fmt::format("\\x{:02x}", c);
      ++at;
      continue;
    }
    const utf8proc_ssize_t n = sequence_length(text.substr(at));
    if (n < 0) {
      out += fmt::format("\\x{:02x}", c);
      ++at;
    } else {
      out.append(text.substr(at, size_t(n)));
      at += size_t(n);
    }
  }
  return out;
}

}  // namespace whet
