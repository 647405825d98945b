#include "data/json_line.h"

#include <fmt/format.h>

#include "core/error.h"

namespace whet {
namespace {

using json = nlohmann::json;

// An example needs four levels ({"messages": [{"content": ...}]}); metadata may
// add a few. The limit stops hostile lines like 100k '[' from building huge trees.
constexpr int kMaxDepth = 64;

struct TooDeep {};

// nlohmann's message quotes the bytes read so far ("last read: '...'"), which can
// be a megabyte of invalid UTF-8; keep only the description.
std::string describe(const json::exception& e) {
  std::string_view what = e.what();
  if (size_t p = what.find("] "); p != std::string_view::npos) what.remove_prefix(p + 2);
  if (size_t p = what.find("; last read"); p != std::string_view::npos) what = what.substr(0, p);
  return std::string(what.substr(0, 200));
}

}  // namespace

json parse_json_line(std::string_view text, const std::string& where) {
  const json::parser_callback_t limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const TooDeep&) {
    fail(where, "invalid JSON: nested deeper than {} levels", kMaxDepth);
  } catch (const json::exception& e) {
    fail(where, "invalid JSON: {}", describe(e));
  }
}

const json* json_member(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string json_string_at(const json& object, const std::string& key, std::string_view path,
                           const std::string& where) {
  const json* value = json_member(object, key);
  if (!value) fail(where, "{}: missing", path);
  if (!value->is_string()) fail(where, "{}: expected a string, got {}", path, value->type_name());
  return value->get<std::string>();
}

std::string json_nonempty_string_at(const json& object, const std::string& key, const std::string& where) {
  std::string s = json_string_at(object, key, key, where);
  if (s.empty()) fail(where, "{}: empty", key);
  return s;
}

const json& json_messages(const json& object, const std::string& where) {
  const json* messages = json_member(object, "messages");
  if (!messages) fail(where, "messages: missing");
  if (!messages->is_array()) fail(where, "messages: expected an array, got {}", messages->type_name());
  if (messages->empty()) fail(where, "messages: empty");
  return *messages;
}

ChatMessage json_chat_message(const json& message, size_t index, const std::string& where, std::string_view list) {
  const std::string path = fmt::format("{}[{}]", list, index);
  if (!message.is_object()) fail(where, "{}: expected an object, got {}", path, message.type_name());
  std::string role = json_string_at(message, "role", path + ".role", where);
  if (role != "system" && role != "user" && role != "assistant")
    fail(where, "{}.role: {:?} is not one of system, user, assistant", path, std::string_view(role).substr(0, 32));
  return {std::move(role), json_string_at(message, "content", path + ".content", where)};
}

}  // namespace whet
