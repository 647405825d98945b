#include "data/detect_format.h"

#include "core/error.h"
#include "data/json_line.h"

namespace whet {

using json = nlohmann::json;

DataFormat detect_format(const json& object, const std::string& where) {
  for (const char* key : {"chosen", "rejected", "preferred_output", "non_preferred_output"})
    if (json_member(object, key)) return DataFormat::Preference;
  const json* label = json_member(object, "label");
  // A text label is a supervised answer ({"prompt", "label"}); true/false judges a completion.
  if (label && label->is_boolean() && (json_member(object, "prompt") || json_member(object, "completion")))
    return DataFormat::Kto;
  if (json_member(object, "messages")) return DataFormat::Chat;
  if (json_member(object, "instruction")) return DataFormat::Alpaca;
  if (json_member(object, "prompt") || json_member(object, "completion")) return DataFormat::Completion;
  if (json_member(object, "text")) return DataFormat::Text;
  fail(where, "unknown format: expected the key \"text\", \"prompt\" and \"completion\", \"messages\", "
              "\"instruction\" and \"output\", or for preference data \"chosen\" and \"rejected\", "
              "\"preferred_output\" and \"non_preferred_output\", or a true/false \"label\"");
}

DataFormat line_format(std::string_view json_line, DataFormat format, const std::string& where) {
  if (format != DataFormat::Auto) return format;
  const json object = parse_json_line(json_line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  return detect_format(object, where);
}

}  // namespace whet
