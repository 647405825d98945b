#include "core/utf8.h"

#include <fmt/format.h>
#include <utf8proc.h>

namespace whet {
namespace {

bool is_printable_ascii(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\t'; }

}  // namespace

CodePoint utf8_detail::decode_multibyte(std::string_view text, size_t at) {
  utf8proc_int32_t value;
  const utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + at),
                                              utf8proc_ssize_t(text.size() - at), &value);
  if (n < 0) return {kReplacementCharacter, at, text.substr(at, 1)};
  return {value, at, text.substr(at, size_t(n))};
}

void append_utf8(std::string& out, int32_t code_point) {
  utf8proc_uint8_t encoded[4];
  out.append(reinterpret_cast<const char*>(encoded), size_t(utf8proc_encode_char(code_point, encoded)));
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  size_t end = 0;
  for (const CodePoint& c : code_points(text)) {
    if (c.offset + c.bytes.size() > max_bytes) break;
    end = c.offset + c.bytes.size();
  }
  return text.substr(0, end);
}

std::optional<size_t> invalid_utf8_at(std::string_view text) {
  for (const CodePoint& c : code_points(text))
    if (c.invalid()) return c.offset;
  return std::nullopt;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const CodePoint& c : code_points(text)) {
    if (c.invalid()) append_utf8(out, c.value);
    else out.append(c.bytes);
  }
  return out;
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) out += ch;
    else append_utf8(out, c);  // a Latin-1 byte is the code point of the same number
  }
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const CodePoint& c : code_points(text)) {
    const auto lead = static_cast<unsigned char>(c.bytes[0]);
    if (c.invalid() || (lead < 0x80 && !is_printable_ascii(lead))) out += fmt::format("\\x{:02x}", lead);
    else out.append(c.bytes);
  }
  return out;
}

}  // namespace whet
