#include "tune/python_json.h"

namespace whet::tune {
namespace {

// Scalars as nlohmann writes them (shortest round-trip floats, Python's exponent
// threshold); strings ASCII-only, invalid UTF-8 replaced rather than thrown.
std::string scalar_text(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::ordered_json::error_handler_t::replace);
}

void append(std::string& out, const nlohmann::ordered_json& value) {
  if (value.is_object()) {
    out += '{';
    const char* separator = "";
    for (const auto& [key, item] : value.items()) {
      out += separator;
      out += scalar_text(key);
      out += ": ";
      append(out, item);
      separator = ", ";
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    const char* separator = "";
    for (const auto& item : value) {
      out += separator;
      append(out, item);
      separator = ", ";
    }
    out += ']';
  } else {
    out += scalar_text(value);
  }
}

}  // namespace

std::string python_json(const nlohmann::ordered_json& value) {
  std::string out;
  append(out, value);
  return out;
}

}  // namespace whet::tune
