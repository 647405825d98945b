#pragma once
// Typed reading of the JSON files that come with models (config.json,
// generation_config.json, adapter_config.json): every complaint names the file
// and the field.
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet {

// The file parsed as one JSON object; whet::Error naming the path otherwise.
nlohmann::json read_json_object(const std::string& path);

// Typed access to the fields of one JSON object; every error names the file and the field.
class Fields {
 public:
  Fields(std::string path, const nlohmann::json& object, std::string prefix = "")
      : path_(std::move(path)), object_(object), prefix_(std::move(prefix)) {}

  const std::string& path() const { return path_; }
  std::string name(const char* key) const { return prefix_ + key; }

  // Whether the key is there at all, null or not (where null and absent mean different things).
  bool present(const char* key) const { return object_.contains(key); }

  // A field set to null counts as absent, as it does for transformers.
  bool has(const char* key) const {
    const auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
  }

  int positive_integer(const char* key) const { return positive(key, to_int(at(key), name(key))); }
  int positive_integer(const char* key, int fallback) const { return has(key) ? positive_integer(key) : fallback; }

  float positive_number(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_number()) wrong_type(name(key), v, "a number");
    return float(positive(key, v.get<double>()));
  }
  float positive_number(const char* key, float fallback) const { return has(key) ? positive_number(key) : fallback; }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const nlohmann::json& v = at(key);
    if (!v.is_number()) wrong_type(name(key), v, "a number");
    return v.get<double>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const nlohmann::json& v = at(key);
    if (!v.is_boolean()) wrong_type(name(key), v, "true or false");
    return v.get<bool>();
  }

  std::string string(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_string()) wrong_type(name(key), v, "a string");
    return v.get<std::string>();
  }

  const nlohmann::json& array(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_array()) wrong_type(name(key), v, "an array");
    return v;
  }

  Fields object(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_object()) wrong_type(name(key), v, "an object");
    return Fields(path_, v, name(key) + ".");
  }

  int token_id(const char* key) const { return token_id(at(key), name(key)); }

  // eos_token_id may be one id or a list of them; absent means none.
  std::vector<int> token_ids(const char* key) const {
    if (!has(key)) return {};
    const nlohmann::json& v = at(key);
    if (!v.is_array()) return {token_id(key)};
    std::vector<int> ids;
    for (const nlohmann::json& id : v) ids.push_back(token_id(id, name(key)));
    return ids;
  }

 private:
  const nlohmann::json& at(const char* key) const {
    if (!has(key)) fail(path_, "missing field '{}'", name(key));
    return object_.at(key);
  }

  int to_int(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_number_integer()) wrong_type(field, v, "an integer");
    const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                                 : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX;
    if (!in_range) fail(path_, "field '{}' = {} is out of range", field, v.dump());
    return v.get<int>();
  }

  int token_id(const nlohmann::json& v, const std::string& field) const {
    const int id = to_int(v, field);
    if (id < 0) fail(path_, "field '{}' = {} is not a token id", field, id);
    return id;
  }

  template <typename T>
  T positive(const char* key, T value) const {
    if (!(value > 0)) fail(path_, "field '{}' must be positive, got {}", name(key), value);
    return value;
  }

  [[noreturn]] void wrong_type(const std::string& field, const nlohmann::json& v, std::string_view expected) const {
    fail(path_, "field '{}' must be {}, got {} {}", field, expected, v.type_name(), v.dump());
  }

  std::string path_;
  const nlohmann::json& object_;
  std::string prefix_;
};

}  // namespace whet
