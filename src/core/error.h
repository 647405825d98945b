#pragma once
// Two kinds of failure, kept apart on purpose:
//  - whet::Error: bad input from the user (file, config, request). Carries a
//    "[where] what" message that reaches the CLI or the HTTP API unchanged.
//  - WHET_ASSERT: a broken invariant inside Whet. Aborts with file and line,
//    because continuing would compute garbage.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "core/utf8.h"

namespace whet {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws whet::Error("[where] message"). Messages often quote what a file
// holds (a key, a tensor name); whatever is not valid UTF-8 is escaped, so a
// corrupted file cannot put raw bytes on a terminal or into a JSON error body.
template <typename... Args>
[[noreturn]] void fail(std::string_view where, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(printable(fmt::format("[{}] {}", where, fmt::format(format, std::forward<Args>(args)...))));
}

}  // namespace whet

#define WHET_ASSERT(cond)                                                             \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", __FILE__, \
                   __LINE__, #cond);                                                  \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
