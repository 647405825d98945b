#include "eval/json_schema.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/error.h"
#include "core/utf8.h"

namespace whet {

namespace {

constexpr std::array<std::string_view, 7> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};

bool is_type_name(const nlohmann::json& v) {
  return v.is_string() && std::find(kTypes.begin(), kTypes.end(), v.get_ref<const std::string&>()) != kTypes.end();
}

bool has_type(const nlohmann::json& value, std::string_view type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer")
    return value.is_number_integer() || (value.is_number_float() && value.get<double>() == std::floor(value.get<double>()));
  if (type == "boolean") return value.is_boolean();
  return value.is_null();
}

void check_count(const nlohmann::json& v, const std::string& where, const std::string& at) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    fail(where, "{}: expected a count (an integer >= 0), got {}", at, v.dump());
}

void check_keyword(const std::string& key, const nlohmann::json& v, const std::string& where, const std::string& at) {
  if (key == "type") {
    const bool ok = is_type_name(v) || (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), is_type_name));
    if (!ok) fail(where, "{}: expected one of object, array, string, number, integer, boolean, null (or a list)", at);
  } else if (key == "properties") {
    if (!v.is_object()) fail(where, "{}: expected an object of schemas", at);
    for (const auto& [name, schema] : v.items()) check_json_schema(schema, where, at + "." + name);
  } else if (key == "required") {
    if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& n) { return n.is_string(); }))
      fail(where, "{}: expected a list of property names", at);
  } else if (key == "additionalProperties") {
    if (!v.is_boolean()) fail(where, "{}: only true or false is supported (not a schema)", at);
  } else if (key == "items") {
    check_json_schema(v, where, at);
  } else if (key == "enum") {
    if (!v.is_array() || v.empty()) fail(where, "{}: expected a list of values", at);
  } else if (key == "minimum" || key == "maximum") {
    if (!v.is_number()) fail(where, "{}: expected a number", at);
  } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
    check_count(v, where, at);
  } else if (key != "const" && key != "title" && key != "description" && key != "$schema") {
    fail(where, "{}: keyword not supported (the subset: type, properties, required, additionalProperties, items, "
                "enum, const, minimum, maximum, minLength, maxLength, minItems, maxItems)", at);
  }
}

bool type_ok(const nlohmann::json& value, const nlohmann::json& type) {
  if (type.is_string()) return has_type(value, type.get_ref<const std::string&>());
  return std::any_of(type.begin(), type.end(), [&](const auto& t) { return has_type(value, t.template get_ref<const std::string&>()); });
}

bool object_ok(const nlohmann::json& value, const nlohmann::json& schema) {
  if (!value.is_object()) return true;
  const nlohmann::json* properties = schema.contains("properties") ? &schema.at("properties") : nullptr;
  if (schema.contains("required"))
    for (const auto& name : schema.at("required"))
      if (!value.contains(name.get<std::string>())) return false;
  for (const auto& [name, member] : value.items()) {
    if (properties && properties->contains(name)) {
      if (!json_schema_valid(member, properties->at(name))) return false;
    } else if (schema.value("additionalProperties", true) == false) {
      return false;
    }
  }
  return true;
}

bool array_ok(const nlohmann::json& value, const nlohmann::json& schema) {
  if (!value.is_array()) return true;
  if (schema.contains("minItems") && value.size() < schema.at("minItems").get<uint64_t>()) return false;
  if (schema.contains("maxItems") && value.size() > schema.at("maxItems").get<uint64_t>()) return false;
  if (schema.contains("items"))
    for (const auto& item : value)
      if (!json_schema_valid(item, schema.at("items"))) return false;
  return true;
}

bool scalar_ok(const nlohmann::json& value, const nlohmann::json& schema) {
  if (value.is_number()) {
    const double x = value.get<double>();
    if (schema.contains("minimum") && x < schema.at("minimum").get<double>()) return false;
    if (schema.contains("maximum") && x > schema.at("maximum").get<double>()) return false;
  }
  if (value.is_string()) {
    size_t length = 0;
    for ([[maybe_unused]] const CodePoint& c : code_points(value.get_ref<const std::string&>())) ++length;
    if (schema.contains("minLength") && length < schema.at("minLength").get<uint64_t>()) return false;
    if (schema.contains("maxLength") && length > schema.at("maxLength").get<uint64_t>()) return false;
  }
  return true;
}

}  // namespace

void check_json_schema(const nlohmann::json& schema, const std::string& where, const std::string& path) {
  if (schema.is_boolean()) return;
  if (!schema.is_object()) fail(where, "{}: expected a schema (an object, or true / false), got {}", path, schema.type_name());
  for (const auto& [key, value] : schema.items()) check_keyword(key, value, where, path + "." + key);
}

bool json_schema_valid(const nlohmann::json& value, const nlohmann::json& schema) {
  if (schema.is_boolean()) return schema.get<bool>();
  if (schema.contains("type") && !type_ok(value, schema.at("type"))) return false;
  if (schema.contains("enum")) {
    const auto& options = schema.at("enum");
    if (std::find(options.begin(), options.end(), value) == options.end()) return false;
  }
  if (schema.contains("const") && value != schema.at("const")) return false;
  return object_ok(value, schema) && array_ok(value, schema) && scalar_ok(value, schema);
}

}  // namespace whet
