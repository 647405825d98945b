// Walking text by code points: the values, offsets and bytes worked out by hand
// from the UTF-8 encoding, and the one policy for invalid bytes (U+FFFD, one
// byte consumed).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/utf8.h"

namespace whet {
namespace {

struct Walked {
  int32_t value;
  size_t offset, size;
  bool invalid;
  bool operator==(const Walked&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Walked& w) {
  return out << "{U+" << std::hex << w.value << std::dec << " at " << w.offset << ", " << w.size << " byte(s)"
             << (w.invalid ? ", invalid" : "") << "}";
}

std::vector<Walked> walk(std::string_view text) {
  std::vector<Walked> out;
  for (const CodePoint& c : code_points(text)) {
    EXPECT_EQ(c.bytes, text.substr(c.offset, c.bytes.size()));
    out.push_back({c.value, c.offset, c.bytes.size(), c.invalid()});
  }
  return out;
}

TEST(Utf8, CodePointsOfOneToFourBytes) {
  // a = 61; é = C3 A9 (U+00E9); € = E2 82 AC (U+20AC); 😀 = F0 9F 98 80 (U+1F600).
  EXPECT_EQ(walk("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"),
            (std::vector<Walked>{{0x61, 0, 1, false},
                                 {0xE9, 1, 2, false},
                                 {0x20AC, 3, 3, false},
                                 {0x1F600, 6, 4, false},
                                 {0x7A, 10, 1, false}}));
  EXPECT_TRUE(walk("").empty());
}

TEST(Utf8, AnInvalidByteIsOneReplacementCharacter) {
  const int32_t r = kReplacementCharacter;
  // A stray continuation byte, then a lead byte followed by ASCII: each is one U+FFFD, and the walk goes on.
  EXPECT_EQ(walk("a\x80" "b\xC3("), (std::vector<Walked>{{0x61, 0, 1, false},
                                                          {r, 1, 1, true},
                                                          {0x62, 2, 1, false},
                                                          {r, 3, 1, true},
                                                          {0x28, 4, 1, false}}));
  // The overlong form of '/' (C0 AF) and a surrogate (ED A0 80, U+D800) are not UTF-8: one U+FFFD per byte.
  EXPECT_EQ(walk("\xC0\xAF"), (std::vector<Walked>{{r, 0, 1, true}, {r, 1, 1, true}}));
  EXPECT_EQ(walk("\xED\xA0\x80"), (std::vector<Walked>{{r, 0, 1, true}, {r, 1, 1, true}, {r, 2, 1, true}}));
  // U+FFFD written in the text (EF BF BD) is a character like any other.
  EXPECT_EQ(walk("\xEF\xBF\xBD"), (std::vector<Walked>{{r, 0, 3, false}}));
}

TEST(Utf8, ASequenceCutShortAtTheEnd) {
  // The first three bytes of 😀 (F0 9F 98 80): each left over byte reads as U+FFFD.
  const int32_t r = kReplacementCharacter;
  EXPECT_EQ(walk("ok\xF0\x9F\x98"), (std::vector<Walked>{{0x6F, 0, 1, false},
                                                           {0x6B, 1, 1, false},
                                                           {r, 2, 1, true},
                                                           {r, 3, 1, true},
                                                           {r, 4, 1, true}}));
  EXPECT_EQ(invalid_utf8_at("ok\xF0\x9F\x98"), 2u);
  EXPECT_EQ(replace_invalid_utf8("ok\xF0\x9F\x98"), "ok\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(printable("ok\xF0\x9F\x98"), "ok\\xf0\\x9f\\x98");
}

TEST(Utf8, EncodeAndCutOnCharacterBoundaries) {
  std::string out;
  for (int32_t cp : {0x61, 0xE9, 0x20AC, 0x1F600}) append_utf8(out, cp);
  EXPECT_EQ(out, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(invalid_utf8_at(out), std::nullopt);
  // The prefix never ends inside a character: 😀 takes bytes 6 to 9.
  EXPECT_EQ(utf8_prefix(out, 9), "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(utf8_prefix(out, 10), out);
  EXPECT_EQ(utf8_prefix(out, 2), "a");
  EXPECT_EQ(utf8_prefix(out, 0), "");
  EXPECT_EQ(latin1_to_utf8("caf\xE9"), "caf\xC3\xA9");
}

}  // namespace
}  // namespace whet
