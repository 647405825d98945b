#pragma once
// One line of a JSONL file as a JSON object, read defensively: hostile nesting
// is refused before it builds a tree, nlohmann's messages are trimmed of the
// raw bytes they quote, and every complaint names "file:line" and the key.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tokenizer/chat_template.h"

namespace whet {

// Throws whet::Error "[where] invalid JSON: ..." for malformed text or nesting deeper than 64 levels.
nlohmann::json parse_json_line(std::string_view text, const std::string& where);

// A member that is present and not null (datasets exported from tables write
// null for the columns a row does not use); nullptr otherwise.
const nlohmann::json* json_member(const nlohmann::json& object, const std::string& key);

// The string at `key`; `path` is how the message names it (e.g. "messages[2].role").
std::string json_string_at(const nlohmann::json& object, const std::string& key, std::string_view path,
                           const std::string& where);
// Likewise, and an empty string is an error.
std::string json_nonempty_string_at(const nlohmann::json& object, const std::string& key, const std::string& where);

// The "messages" array of an OpenAI-style conversation: present, an array, not empty.
const nlohmann::json& json_messages(const nlohmann::json& object, const std::string& where);
// messages[index]: an object whose role is system, user or assistant and whose content is a string.
// `list` is how messages name the list ("input.messages", "chosen").
ChatMessage json_chat_message(const nlohmann::json& message, size_t index, const std::string& where,
                              std::string_view list = "messages");

}  // namespace whet
