#include "io/json_fields.h"

#include "core/mapped_file.h"

namespace whet {

using nlohmann::json;

json read_json_object(const std::string& path) {
  const auto file = MappedFile::open(path);
  const char* text = reinterpret_cast<const char*>(file->data());
  json parsed;
  try {
    parsed = json::parse(text, text + file->size());
  } catch (const json::exception& e) {
    fail(path, "malformed JSON: {}", e.what());
  }
  if (!parsed.is_object()) fail(path, "expected a JSON object, found {}", parsed.type_name());
  return parsed;
}

}  // namespace whet
