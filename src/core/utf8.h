#pragma once
// UTF-8, decided once by utf8proc for the whole code base: bytes from outside
// are checked or repaired here, text is walked code point by code point here,
// and text quoted back to the user (in an error message, say) is made printable
// here.
#include <cstddef>
#include <cstdint>
#include <iterator>
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

// Walking text by code points. The one policy for a byte that is not part of a
// valid UTF-8 sequence (a stray continuation byte, an overlong form, a
// surrogate, a sequence cut short at the end), wherever text is walked: it reads
// as U+FFFD and only that byte is consumed, so the walk goes on at the next
// byte. Text inside the pipeline is valid UTF-8 after reading, so there this
// only says what would happen.
inline constexpr int32_t kReplacementCharacter = 0xFFFD;

// One code point of a text and the bytes it was read from.
struct CodePoint {
  int32_t value = 0;       // kReplacementCharacter for a byte that begins no valid sequence
  size_t offset = 0;       // of its first byte in the text
  std::string_view bytes;  // 1 to 4 bytes of the text

  // Whether this is a byte that begins no valid sequence.
  bool invalid() const { return bytes.size() == 1 && static_cast<unsigned char>(bytes[0]) >= 0x80; }
};

namespace utf8_detail {
CodePoint decode_multibyte(std::string_view text, size_t at);
}  // namespace utf8_detail

// The code point that begins at text[at], at < text.size().
inline CodePoint code_point_at(std::string_view text, size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  // ASCII needs no decoding, nor a call; most text is mostly ASCII.
  if (lead < 0x80) return {lead, at, text.substr(at, 1)};
  return utf8_detail::decode_multibyte(text, at);
}

// The code points of a text in order: `for (const CodePoint& c : code_points(text))`.
class CodePoints {
 public:
  class Iterator {
   public:
    using value_type = CodePoint;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(std::string_view text, size_t at) : text_(text) { read(at); }
    const CodePoint& operator*() const { return current_; }
    const CodePoint* operator->() const { return &current_; }
    Iterator& operator++() {
      read(current_.offset + current_.bytes.size());
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(std::default_sentinel_t) const { return current_.bytes.empty(); }

   private:
    void read(size_t at) { current_ = at < text_.size() ? code_point_at(text_, at) : CodePoint{0, at, {}}; }
    std::string_view text_;
    CodePoint current_;
  };

  explicit CodePoints(std::string_view text) : text_(text) {}
  Iterator begin() const { return Iterator(text_, 0); }
  std::default_sentinel_t end() const { return {}; }

 private:
  std::string_view text_;
};
inline CodePoints code_points(std::string_view text) { return CodePoints(text); }

// Appends the UTF-8 bytes of a valid code point.
void append_utf8(std::string& out, int32_t code_point);
// The longest start of `text` of at most `max_bytes` that ends between code points.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace whet
