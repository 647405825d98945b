#include "serve/score_request.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/request_json.h"

namespace whet::serve {

namespace {

using nlohmann::json;

void refuse_unknown(const json& object, const std::vector<std::string>& known, const std::string& where) {
  for (const auto& [key, value] : object.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      const std::string param = where.empty() ? key : where + "." + key;
      throw invalid_request(fmt::format("'{}' is not a field of a score request", param), param);
    }
}

std::string answer_text(const json& value, const std::string& param) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty())
    throw invalid_request(fmt::format("'{}' must be a non-empty string", param), param);
  return value.get<std::string>();
}

// messages read as training reads them; a whet::Error becomes a 400 naming the message.
std::vector<ChatMessage> message_list(const json& value, const std::string& param) {
  if (!value.is_array() || value.empty())
    throw invalid_request(fmt::format("'{}' must be a non-empty array of messages", param), param);
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < value.size(); ++i) {
    try {
      out.push_back(json_chat_message(value[i], i, "request", param));
    } catch (const Error& e) {
      throw invalid_request(e.what(), fmt::format("{}[{}]", param, i));
    }
  }
  return out;
}

// {"messages": [...]}: the last message is the assistant's answer to score.
ScoreInput conversation(const json& item, const std::string& param) {
  std::vector<ChatMessage> messages = message_list(item.at("messages"), param + ".messages");
  const std::string last = fmt::format("{}.messages[{}]", param, messages.size() - 1);
  if (messages.back().role != "assistant")
    throw invalid_request(fmt::format("'{}' must be the assistant's answer to score, not a {} message", last,
                                      messages.back().role), last + ".role");
  if (messages.back().content.empty()) throw invalid_request(fmt::format("'{}.content' is empty", last), last + ".content");
  if (messages.size() < 2)
    throw invalid_request(fmt::format("'{}.messages' needs the turns before the answer", param), param + ".messages");
  ScoreInput input;
  input.completion = messages.back().content;
  messages.pop_back();
  input.prompt.messages = std::move(messages);
  return input;
}

// {"prompt": text or messages, "completion": text}.
ScoreInput prompt_and_completion(const json& item, const std::string& param) {
  const json* prompt = json_member(item, "prompt");
  const json* completion = json_member(item, "completion");
  if (!prompt) throw invalid_request(fmt::format("'{}.prompt' is required beside 'completion'", param), param + ".prompt");
  if (!completion)
    throw invalid_request(fmt::format("'{}.completion' is required: the answer to score", param), param + ".completion");
  ScoreInput input;
  if (prompt->is_string()) {
    input.prompt.text = prompt->get<std::string>();
  } else if (prompt->is_array()) {
    input.prompt.messages = message_list(*prompt, param + ".prompt");
  } else {
    throw invalid_request(fmt::format("'{}.prompt' must be a string or an array of messages", param), param + ".prompt");
  }
  input.completion = answer_text(*completion, param + ".completion");
  return input;
}

ScoreInput score_input(const json& item, const std::string& param) {
  if (item.is_string()) {
    ScoreInput input;
    input.completion = answer_text(item, param);
    return input;
  }
  if (!item.is_object())
    throw invalid_request(fmt::format("'{}' must be a string or an object with 'messages' or 'prompt' and 'completion'",
                                      param), param);
  refuse_unknown(item, {"messages", "prompt", "completion"}, param);
  if (json_member(item, "messages")) {
    if (json_member(item, "prompt") || json_member(item, "completion"))
      throw invalid_request(fmt::format("'{}' gives 'messages' or 'prompt' and 'completion', not both", param), param);
    return conversation(item, param);
  }
  return prompt_and_completion(item, param);
}

}  // namespace

ScoreRequest parse_score_request(std::string_view text, size_t max_inputs) {
  const json body = parse_request_object(text);
  refuse_unknown(body, {"model", "input"}, "");
  ScoreRequest r;
  const json* model = json_member(body, "model");
  if (!model) throw invalid_request("'model' is required: the name of a reward model the server loaded", "model");
  r.model = answer_text(*model, "model");
  const json* input = json_member(body, "input");
  if (!input) throw invalid_request("'input' is required: a text, or an array of texts or conversations", "input");
  if (!input->is_array()) {
    r.inputs.push_back(score_input(*input, "input"));
    return r;
  }
  if (input->empty()) throw invalid_request("'input' must not be empty", "input");
  if (input->size() > max_inputs)
    throw invalid_request(fmt::format("'input' holds {} items; at most {} per request", input->size(), max_inputs),
                          "input");
  for (size_t i = 0; i < input->size(); ++i) r.inputs.push_back(score_input((*input)[i], fmt::format("input[{}]", i)));
  return r;
}

}  // namespace whet::serve
