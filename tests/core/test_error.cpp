// whet::Error messages are printable UTF-8 whatever the input they quote.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/utf8.h"

namespace whet {
namespace {

std::string message_of(std::string_view quoted) {
  try {
    fail("file.gguf", "key '{}'", quoted);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ErrorMessage, ValidTextIsKeptAsItIs) {
  EXPECT_EQ(message_of("caf\u00e9 \U0001F600 line\nnext\ttab"), "[file.gguf] key 'caf\u00e9 \U0001F600 line\nnext\ttab'");
}

TEST(ErrorMessage, InvalidBytesAndControlsAreEscaped) {
  // a stray continuation byte, a truncated 3-byte sequence at the end, ESC and DEL
  EXPECT_EQ(message_of("a\x80" "b\x1b[0m\x7f" "c\xe2\x82"), "[file.gguf] key 'a\\x80b\\x1b[0m\\x7fc\\xe2\\x82'");
  // an overlong '/' and a UTF-16 surrogate are not UTF-8 either
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_FALSE(invalid_utf8_at(message_of("\xff\xfe\xfd")));
}

}  // namespace
}  // namespace whet
