#include "serve/completion_request.h"

#include <cmath>
#include <random>

#include "core/error.h"
#include "data/json_line.h"
#include "serve/api_error.h"
#include "serve/request_json.h"

namespace whet::serve {

namespace {

using nlohmann::json;

const json* member(const json& body, const char* key) { return json_member(body, key); }

double number_in(const json& body, const char* key, double low, double high, double fallback) {
  const json* v = member(body, key);
  if (!v) return fallback;
  if (!v->is_number()) throw invalid_request(fmt::format("'{}' must be a number", key), key);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < low || x > high)
    throw invalid_request(fmt::format("'{}' must be between {} and {}, got {}", key, low, high, x), key);
  return x;
}

int64_t integer_in(const json& body, const char* key, int64_t low, int64_t high, int64_t fallback) {
  const json* v = member(body, key);
  if (!v) return fallback;
  if (!v->is_number_integer()) throw invalid_request(fmt::format("'{}' must be an integer", key), key);
  // Unsigned values above int64's range come back negative from get<int64_t>; read them as such and refuse.
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? -1 : v->get<int64_t>();
  if (x < low || x > high)
    throw invalid_request(fmt::format("'{}' must be between {} and {}, got {}", key, low, high, v->dump()), key);
  return x;
}

bool boolean(const json& body, const char* key) {
  const json* v = member(body, key);
  if (!v) return false;
  if (!v->is_boolean()) throw invalid_request(fmt::format("'{}' must be true or false", key), key);
  return v->get<bool>();
}

// A message's content: a string, or an array of {"type":"text","text":...} parts joined.
std::string message_content(const json& content, size_t index) {
  const std::string param = fmt::format("messages[{}].content", index);
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw invalid_request(fmt::format("'{}' must be a string or an array of text parts", param), param);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const json* type = part.is_object() ? member(part, "type") : nullptr;
    const json* value = part.is_object() ? member(part, "text") : nullptr;
    if (!type || *type != "text" || !value || !value->is_string())
      throw invalid_request(fmt::format("'{}[{}]' must be a text part {{\"type\": \"text\", \"text\": ...}}; "
                                        "this model reads text only", param, i), param);
    text += value->get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> chat_messages(const json& body) {
  const json* messages = member(body, "messages");
  if (!messages) throw invalid_request("'messages' is required", "messages");
  if (!messages->is_array() || messages->empty())
    throw invalid_request("'messages' must be a non-empty array", "messages");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object()) throw invalid_request(fmt::format("'{}' must be an object", param), param);
    const json* role = member(m, "role");
    if (!role || !role->is_string()) throw invalid_request(fmt::format("'{}.role' is required", param), param + ".role");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // OpenAI's newer name for system instructions
    if (r != "system" && r != "user" && r != "assistant")
      throw invalid_request(fmt::format("'{}.role' must be system, user or assistant, got '{}'", param, r),
                            param + ".role");
    const json* content = member(m, "content");
    if (!content) throw invalid_request(fmt::format("'{}.content' is required", param), param + ".content");
    out.push_back({r, message_content(*content, i)});
  }
  return out;
}

std::vector<std::string> stop_strings(const json& body) {
  const json* stop = member(body, "stop");
  if (!stop) return {};
  if (stop->is_string()) return {stop->get<std::string>()};
  if (!stop->is_array() || stop->size() > 4)
    throw invalid_request("'stop' must be a string or an array of at most 4 strings", "stop");
  std::vector<std::string> out;
  for (const json& s : *stop) {
    if (!s.is_string() || s.get<std::string>().empty())
      throw invalid_request("'stop' must hold non-empty strings", "stop");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// Options that would change the answer in ways Whet does not implement are
// refused: a client relying on them must not get a silently different result.
void refuse_unsupported(const json& body) {
  for (const char* key : {"tools", "functions", "logit_bias", "top_logprobs", "suffix", "best_of"}) {
    const json* v = member(body, key);
    if (v && !(v->is_array() && v->empty()) && !(v->is_object() && v->empty()) && !(std::string(key) == "best_of" && *v == 1))
      throw invalid_request(fmt::format("'{}' is not supported by this server", key), key);
  }
  if (const json* v = member(body, "logprobs"); v && *v != false && *v != 0)
    throw invalid_request("'logprobs' is not supported by this server", "logprobs");
  if (const json* v = member(body, "tool_choice"); v && *v != "none")
    throw invalid_request("'tool_choice' is not supported by this server", "tool_choice");
  if (const json* v = member(body, "response_format");
      v && !(v->is_object() && member(*v, "type") && (*v)["type"] == "text"))
    throw invalid_request("'response_format' other than {\"type\": \"text\"} is not supported", "response_format");
  for (const char* key : {"frequency_penalty", "presence_penalty"})
    if (number_in(body, key, -2, 2, 0) != 0)
      throw invalid_request(fmt::format("'{}' is not supported; use 'repetition_penalty'", key), key);
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view text, bool chat, const CompletionLimits& limits) {
  const json body = parse_request_object(text);

  CompletionRequest r;
  r.chat = chat;
  const json* model = member(body, "model");
  if (!model || !model->is_string() || model->get<std::string>().empty())
    throw invalid_request("'model' is required", "model");
  r.model = model->get<std::string>();
  if (chat) {
    r.messages = chat_messages(body);
  } else {
    const json* prompt = member(body, "prompt");
    if (!prompt) throw invalid_request("'prompt' is required", "prompt");
    if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) prompt = &(*prompt)[0];
    if (!prompt->is_string())
      throw invalid_request("'prompt' must be a string (batches of prompts are not supported)", "prompt");
    r.prompt = prompt->get<std::string>();
    if (r.prompt.empty()) throw invalid_request("'prompt' must not be empty", "prompt");
    r.echo = boolean(body, "echo");
  }
  refuse_unsupported(body);

  SamplingParams& s = r.generation.sampling;
  s.temperature = float(number_in(body, "temperature", 0, 2, 1));
  s.top_p = float(number_in(body, "top_p", 0, 1, 1));
  if (s.top_p == 0) throw invalid_request("'top_p' must be greater than 0", "top_p");
  s.top_k = int(integer_in(body, "top_k", 0, 1 << 20, 0));
  s.min_p = float(number_in(body, "min_p", 0, 1, 0));
  s.repetition_penalty = float(number_in(body, "repetition_penalty", 0.01, 10, 1));

  const char* max_key = member(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  r.max_tokens_given = member(body, max_key) != nullptr;
  r.generation.max_tokens = int(integer_in(body, max_key, 1, limits.max_tokens, limits.max_tokens));
  r.n = int(integer_in(body, "n", 1, limits.max_n, 1));
  r.seed_given = member(body, "seed") != nullptr;
  s.seed = r.seed_given ? uint64_t(integer_in(body, "seed", INT64_MIN, INT64_MAX, 0)) : std::random_device{}();
  r.generation.stop = stop_strings(body);

  r.stream = boolean(body, "stream");
  if (const json* options = member(body, "stream_options")) {
    if (!options->is_object()) throw invalid_request("'stream_options' must be an object", "stream_options");
    if (!r.stream) throw invalid_request("'stream_options' is only allowed with 'stream': true", "stream_options");
    r.include_usage = boolean(*options, "include_usage");
  }
  return r;
}

}  // namespace whet::serve
