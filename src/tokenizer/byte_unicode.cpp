#include "tokenizer/byte_unicode.h"

#include <array>

namespace whet {
namespace {

// Code points 0..323 are the only ones the mapping uses: printable Latin-1 bytes
// stand for themselves, the other 68 bytes take 256, 257, ... in byte order.
constexpr int kLastCodePoint = 256 + 67;

bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

std::string utf8_of(int code_point) {
  if (code_point < 0x80) return std::string(1, char(code_point));
  return {char(0xC0 | (code_point >> 6)), char(0x80 | (code_point & 0x3F))};
}

struct ByteTables {
  std::array<std::string, 256> utf8_by_byte;
  std::array<int16_t, kLastCodePoint + 1> byte_by_code_point;

  ByteTables() {
    byte_by_code_point.fill(-1);
    int next_substitute = 256;
    for (int byte = 0; byte < 256; ++byte) {
      int code_point = stands_for_itself(byte) ? byte : next_substitute++;
      utf8_by_byte[byte] = utf8_of(code_point);
      byte_by_code_point[code_point] = int16_t(byte);
    }
  }
};

const ByteTables& tables() {
  static const ByteTables instance;
  return instance;
}

}  // namespace

std::string_view byte_to_unicode(uint8_t byte) { return tables().utf8_by_byte[byte]; }

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(uint8_t(c));
  return out;
}

std::optional<std::string> unicode_to_bytes(std::string_view token) {
  const auto& by_code_point = tables().byte_by_code_point;
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    auto lead = uint8_t(token[i]);
    int code_point;
    if (lead < 0x80) {
      code_point = lead;
      i += 1;
    } else if (lead >= 0xC2 && lead < 0xE0 && i + 1 < token.size() && (uint8_t(token[i + 1]) & 0xC0) == 0x80) {
      code_point = ((lead & 0x1F) << 6) | (uint8_t(token[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;  // three- and four-byte characters are all above kLastCodePoint
    }
    if (code_point > kLastCodePoint || by_code_point[code_point] < 0) return std::nullopt;
    out += char(by_code_point[code_point]);
  }
  return out;
}

}  // namespace whet
