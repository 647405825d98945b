// JSONL line -> PreferenceExample or UnpairedExample. As for supervised lines,
// every complaint names the file, the line and the key ("chosen[0].content"),
// so the one bad line of a generated file can be found and fixed.
#include "data/preference_example.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/detect_format.h"
#include "data/json_line.h"

namespace whet {
namespace {

using json = nlohmann::json;

const json& member(const json& object, const std::string& key, std::string_view path, const std::string& where) {
  const json* value = json_member(object, key);
  if (!value) fail(where, "{}: missing", path);
  return *value;
}

std::vector<ChatMessage> message_list(const json& value, std::string_view path, const std::string& where) {
  if (!value.is_array()) fail(where, "{}: expected a list of messages, got {}", path, value.type_name());
  if (value.empty()) fail(where, "{}: empty", path);
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < value.size(); ++i) messages.push_back(json_chat_message(value[i], i, where, path));
  return messages;
}

// The reply a list ends with: messages[first] must be its only other message,
// an assistant's, with content. `first` > 0 for implicit prompts (the turns before are the prompt).
std::string reply(const std::vector<ChatMessage>& messages, size_t first, std::string_view path,
                  const std::string& where) {
  if (messages.size() != first + 1) {
    const std::string after = first ? fmt::format(" after the {} turns shared with the other answer", first) : "";
    fail(where, "{}: expected one assistant message{}, got {}", path, after, messages.size() - first);
  }
  const ChatMessage& message = messages[first];
  if (message.role != "assistant") fail(where, "{}[{}].role: an answer is an assistant message, not {}", path, first, message.role);
  if (message.content.empty()) fail(where, "{}[{}].content: empty", path, first);
  return message.content;
}

PreferencePrompt prompt_at(const json& object, const std::string& where) {
  const json& value = member(object, "prompt", "prompt", where);
  PreferencePrompt prompt;
  if (value.is_string()) {
    prompt.text = value.get<std::string>();
  } else if (value.is_array()) {
    prompt.messages = message_list(value, "prompt", where);
  } else {
    fail(where, "prompt: expected a string or a list of messages, got {}", value.type_name());
  }
  return prompt;
}

// An answer in its prompt's form: raw text after a text prompt, one assistant message after a conversation.
std::string answer_at(const json& object, const std::string& key, const PreferencePrompt& prompt,
                      const std::string& where) {
  const json& value = member(object, key, key, where);
  if (prompt.chat()) return reply(message_list(value, key, where), 0, key, where);
  if (!value.is_string()) fail(where, "{}: expected a string, as the prompt is, got {}", key, value.type_name());
  if (value.get_ref<const std::string&>().empty()) fail(where, "{}: empty", key);
  return value.get<std::string>();
}

void read_openai(const json& object, PreferenceExample& pair, const std::string& where) {
  const json& input = member(object, "input", "input", where);
  if (!input.is_object()) fail(where, "input: expected an object holding \"messages\", got {}", input.type_name());
  // Dropping the tools would train on a prompt the model never sees with them.
  if (const json* tools = json_member(input, "tools"); tools && !(tools->is_array() && tools->empty()))
    fail(where, "input.tools: tool definitions are not supported (chat templates are rendered without tools)");
  pair.prompt.messages = message_list(member(input, "messages", "input.messages", where), "input.messages", where);
  for (auto [key, out] : {std::pair{"preferred_output", &pair.chosen}, {"non_preferred_output", &pair.rejected}})
    *out = reply(message_list(member(object, key, key, where), key, where), 0, key, where);
}

// TRL's implicit prompt: chosen and rejected are whole conversations; the turns they share are the prompt.
void read_implicit(const json& object, PreferenceExample& pair, const std::string& where) {
  const json& chosen_json = member(object, "chosen", "chosen", where);
  const json& rejected_json = member(object, "rejected", "rejected", where);
  if (chosen_json.is_string() || rejected_json.is_string())
    fail(where, "prompt: missing (without it, chosen and rejected must be conversations that share their first turns)");
  const std::vector<ChatMessage> chosen = message_list(chosen_json, "chosen", where);
  const std::vector<ChatMessage> rejected = message_list(rejected_json, "rejected", where);
  const auto same = [](const ChatMessage& a, const ChatMessage& b) { return a.role == b.role && a.content == b.content; };
  if (std::equal(chosen.begin(), chosen.end(), rejected.begin(), rejected.end(), same))
    fail(where, "rejected: the same conversation as chosen (a pair must differ to teach a preference)");
  const size_t shared =
      size_t(std::mismatch(chosen.begin(), chosen.end(), rejected.begin(), rejected.end(), same).first - chosen.begin());
  if (shared == 0) fail(where, "chosen, rejected: no shared first turn to take as the prompt; give \"prompt\"");
  pair.prompt.messages.assign(chosen.begin(), chosen.begin() + ptrdiff_t(shared));
  pair.chosen = reply(chosen, shared, "chosen", where);
  pair.rejected = reply(rejected, shared, "rejected", where);
}

PreferenceExample read_pair(const json& object, PreferenceExample pair, const std::string& where) {
  const bool openai = json_member(object, "preferred_output") || json_member(object, "non_preferred_output");
  if (openai && (json_member(object, "chosen") || json_member(object, "rejected")))
    fail(where, "chosen, preferred_output: both TRL's and OpenAI's keys; a line uses one of the two shapes");
  if (openai) {
    read_openai(object, pair, where);
  } else if (json_member(object, "prompt")) {
    pair.prompt = prompt_at(object, where);
    pair.chosen = answer_at(object, "chosen", pair.prompt, where);
    pair.rejected = answer_at(object, "rejected", pair.prompt, where);
  } else {
    read_implicit(object, pair, where);
  }
  if (pair.chosen == pair.rejected)
    fail(where, "{}: the same answer as {} (a pair must differ to teach a preference)",
         openai ? "non_preferred_output" : "rejected", openai ? "preferred_output" : "chosen");
  if (const json* margin = json_member(object, "margin")) {
    if (!margin->is_number() || !std::isfinite(margin->get<double>()))
      fail(where, "margin: expected a finite number, got {}", margin->dump());
    pair.margin = margin->get<double>();
  }
  return pair;
}

UnpairedExample read_unpaired(const json& object, UnpairedExample example, const std::string& where) {
  const json& label = member(object, "label", "label", where);
  if (!label.is_boolean()) fail(where, "label: expected true or false, got {}", label.type_name());
  example.desirable = label.get<bool>();
  example.prompt = prompt_at(object, where);
  example.completion = answer_at(object, "completion", example.prompt, where);
  return example;
}

}  // namespace

std::string PreferenceExample::where() const { return fmt::format("{}:{}", file, line); }

std::string UnpairedExample::where() const { return fmt::format("{}:{}", file, line); }

PreferenceLine parse_preference_line(std::string_view json_line, DataFormat format, const std::string& file,
                                     size_t line) {
  const std::string where = fmt::format("{}:{}", file, line);
  const json object = parse_json_line(json_line, where);
  if (!object.is_object()) fail(where, "expected a JSON object, got {}", object.type_name());
  const DataFormat detected = format == DataFormat::Auto ? detect_format(object, where) : format;
  if (!is_preference_format(detected))
    fail(where, "format {}: a supervised example, not preference data; preference training reads "
                "{{\"prompt\", \"chosen\", \"rejected\"}}, OpenAI's {{\"input\", \"preferred_output\", "
                "\"non_preferred_output\"}}, or for KTO {{\"prompt\", \"completion\", \"label\": true|false}}",
         data_format_name(detected));
  if (detected == DataFormat::Kto) return read_unpaired(object, UnpairedExample{file, line, {}, {}, true}, where);
  return read_pair(object, PreferenceExample{file, line, {}, {}, {}}, where);
}

PreferencePrompt parse_rl_prompt(const json& object, const std::string& where) {
  const bool messages = json_member(object, "messages") != nullptr, prompt = json_member(object, "prompt") != nullptr;
  if (messages && prompt) fail(where, "messages, prompt: both given; a prompt line holds one of the two");
  if (!messages && !prompt) fail(where, "messages: missing (a prompt line holds \"messages\" or \"prompt\")");
  PreferencePrompt out;
  if (prompt) {
    out = prompt_at(object, where);
  } else {
    out.messages = message_list(object.at("messages"), "messages", where);
  }
  if (out.chat() && out.messages.back().role == "assistant")
    fail(where, "{}[{}].role: the prompt ends with an assistant turn; the model answers the last user turn",
         prompt ? "prompt" : "messages", out.messages.size() - 1);
  return out;
}

}  // namespace whet
