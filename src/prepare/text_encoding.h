#pragma once
// Bytes from outside become UTF-8 here, once, so every later stage (utf8proc,
// JSON output) can rely on valid UTF-8.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/utf8.h"
#include "prepare/pipeline_config.h"

namespace whet {

struct Decoded {
  std::string text;
  bool transcoded = false;  // was read as Latin-1
};

// `text` as UTF-8 under `encoding`. Throws whet::Error "[where] invalid UTF-8 at
// byte N ..." when encoding is utf-8 and the text is not.
Decoded decode_text(std::string_view text, Encoding encoding, const std::string& where);

}  // namespace whet
