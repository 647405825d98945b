// JSONL line -> Example. Every complaint names the file, the line and the key,
// because a training file is often thousands of lines written by a script, and
// the user must be able to find and fix the one bad line.
#include "data/example.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whet {
namespace {

using json = nlohmann::json;

// An example needs four levels ({"messages": [{"content": ...}]}); metadata may
// add a few. The limit stops hostile lines like 100k '[' from building huge trees.
constexpr int kMaxDepth = 64;
constexpr std::string_view kFormatNames[kDataFormatCount] = {"auto", "text", "completion", "chat", "alpaca"};

struct TooDeep {};

// nlohmann's message quotes the bytes read so far ("last read: '...'"), which can
// be a megabyte of invalid UTF-8; keep only the description.
std::string describe(const json::exception& e) {
  std::string_view what = e.what();
  if (size_t p = what.find("] "); p != std::string_view::npos) what.remove_prefix(p + 2);
  if (size_t p = what.find("; last read"); p != std::string_view::npos) what = what.substr(0, p);
  return std::string(what.substr(0, 200));
}

json parse_json(std::string_view text, const std::string& where) {
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

// A member that is present and not null (datasets exported from tables write
// null for the columns a row does not use).
const json* member(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string string_at(const json& object, const std::string& key, std::string_view path, const std::string& where) {
  const json* value = member(object, key);
  if (!value) fail(where, "{}: missing", path);
  if (!value->is_string()) fail(where, "{}: expected a string, got {}", path, value->type_name());
  return value->get<std::string>();
}

std::string nonempty_string_at(const json& object, const std::string& key, const std::string& where) {
  std::string s = string_at(object, key, key, where);
  if (s.empty()) fail(where, "{}: empty", key);
  return s;
}

DataFormat detect(const json& object, const std::string& where) {
  if (member(object, "messages")) return DataFormat::Chat;
  if (member(object, "instruction")) return DataFormat::Alpaca;
  if (member(object, "prompt") || member(object, "completion")) return DataFormat::Completion;
  if (member(object, "text")) return DataFormat::Text;
  fail(where, "unknown format: expected the key \"text\", \"prompt\" and \"completion\", \"messages\", "
              "or \"instruction\" and \"output\"");
}

bool is_weight_zero(const json& message, const std::string& path, const std::string& role, const std::string& where) {
  const json* weight = member(message, "weight");
  if (!weight) return false;
  if (role != "assistant") fail(where, "{}.weight: only assistant messages have a weight", path);
  if (!weight->is_number() || (*weight != 0 && *weight != 1)) fail(where, "{}.weight: expected 0 or 1", path);
  return *weight == 0;
}

void read_chat(const json& object, Example& example, const std::string& where) {
  const json* messages = member(object, "messages");
  if (!messages) fail(where, "messages: missing");
  if (!messages->is_array()) fail(where, "messages: expected an array, got {}", messages->type_name());
  if (messages->empty()) fail(where, "messages: empty");
  bool has_assistant = false;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string path = fmt::format("messages[{}]", i);
    if (!m.is_object()) fail(where, "{}: expected an object, got {}", path, m.type_name());
    std::string role = string_at(m, "role", path + ".role", where);
    if (role != "system" && role != "user" && role != "assistant")
      fail(where, "{}.role: {:?} is not one of system, user, assistant", path, std::string_view(role).substr(0, 32));
    has_assistant |= role == "assistant";
    if (is_weight_zero(m, path, role, where)) example.untrained.push_back(i);
    example.messages.push_back({std::move(role), string_at(m, "content", path + ".content", where)});
  }
  if (!has_assistant) fail(where, "messages: no assistant message to train on");
}

void read_alpaca(const json& object, Example& example, const std::string& where) {
  std::string user = nonempty_string_at(object, "instruction", where);
  if (member(object, "input")) {
    const std::string input = string_at(object, "input", "input", where);
    if (!input.empty()) user += "\n\n" + input;
  }
  example.messages = {{"user", std::move(user)}, {"assistant", nonempty_string_at(object, "output", where)}};
}

}  // namespace

std::string_view data_format_name(DataFormat format) { return kFormatNames[size_t(format)]; }

DataFormat parse_data_format(std::string_view name) {
  for (size_t i = 0; i < kDataFormatCount; ++i)
    if (kFormatNames[i] == name) return DataFormat(i);
  fail("data", "unknown format '{}' (known: {})", name, fmt::join(kFormatNames, ", "));
}

std::string Example::where() const { return fmt::format("{}:{}", file, line); }

Example parse_example(std::string_view json_line, DataFormat format, const std::string& file, size_t line) {
  Example example;
  example.file = file;
  example.line = line;
  const std::string where = example.where();
  const json object = parse_json(json_line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  example.format = format == DataFormat::Auto ? detect(object, where) : format;
  switch (example.format) {
    case DataFormat::Text: example.text = nonempty_string_at(object, "text", where); break;
    case DataFormat::Completion:
      example.prompt = string_at(object, "prompt", "prompt", where);
      example.completion = nonempty_string_at(object, "completion", where);
      break;
    case DataFormat::Chat: read_chat(object, example, where); break;
    case DataFormat::Alpaca: read_alpaca(object, example, where); break;
    case DataFormat::Auto: WHET_ASSERT(false && "format left undetected");
  }
  return example;
}

}  // namespace whet
