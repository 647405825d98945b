#pragma once
// GPT-2's reversible mapping between bytes and Unicode characters. Byte-level BPE
// vocabularies spell every byte as one printable character, so that no token
// contains whitespace or control characters: the space byte is "Ġ" (U+0120),
// the newline byte "Ċ" (U+010A).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace whet {

// UTF-8 of the character that stands for `byte`.
std::string_view byte_to_unicode(uint8_t byte);

// The spelling of `bytes` in byte characters ("a b" -> "aĠb").
std::string bytes_to_unicode(std::string_view bytes);

// The bytes a token spelled in byte characters stands for; nullopt when some
// character of `token` is not a byte character.
std::optional<std::string> unicode_to_bytes(std::string_view token);

}  // namespace whet
