#pragma once
// UTF-8 validity, decided once by utf8proc for the whole code base: bytes from
// outside are checked or repaired here, and text quoted back to the user (in an
// error message, say) is made printable here.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace whet {

// The offset of the first byte that does not belong to a valid UTF-8 sequence
// (overlong forms and surrogates included); nullopt when the text is valid.
std::optional<size_t> invalid_utf8_at(std::string_view text);
// Every byte that is not part of a valid sequence replaced by U+FFFD (for model
// output, which may end inside a character or hold stray byte tokens).
std::string replace_invalid_utf8(std::string_view text);
std::string latin1_to_utf8(std::string_view text);
// `text` safe to print on a terminal or to hand to a tool that reads text:
// bytes outside valid UTF-8 and control characters other than newline and tab
// become \xNN, so a corrupted file quoted in a message cannot break the reader.
std::string printable(std::string_view text);

}  // namespace whet
