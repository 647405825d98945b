#pragma once
// A subset of JSON Schema (draft 2020-12 meanings) for the json_schema grader:
//   type (a name or a list: object, array, string, number, integer, boolean, null),
//   properties, required, additionalProperties (true or false), items (one schema),
//   enum, const, minimum, maximum, minLength, maxLength (in code points),
//   minItems, maxItems; title, description and $schema are annotations.
// Any other keyword is refused when the schema is read, rather than ignored: a
// schema that says more than is checked would pass answers it should fail.
#include <string>

#include <nlohmann/json.hpp>

namespace whet {

// whet::Error "[where] path.keyword: ..." for a schema outside the subset.
void check_json_schema(const nlohmann::json& schema, const std::string& where, const std::string& path);

// Whether `value` is valid under a schema that check_json_schema accepted.
bool json_schema_valid(const nlohmann::json& value, const nlohmann::json& schema);

}  // namespace whet
