#pragma once
// The body of POST /v1/chat/completions and /v1/completions, read and checked
// field by field. Every refusal is an ApiError naming the field, so clients see
// which parameter was wrong, as OpenAI's API tells them.
#include <string>
#include <string_view>
#include <vector>

#include "generate/generator.h"
#include "tokenizer/chat_template.h"

namespace whet::serve {

struct CompletionLimits {
  int max_tokens = 2048;  // the most a request may ask to generate
  int max_n = 8;          // the most choices per request
};

struct CompletionRequest {
  bool chat = false;
  std::string model;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions
  GenerationOptions generation;       // sampling (seed set when the request gives one), stop strings
  bool max_tokens_given = false;      // otherwise generation.max_tokens is the server's cap and the context decides
  bool seed_given = false;
  int n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the token counts
  bool echo = false;           // completions: the prompt repeated before the answer
};

// Throws ApiError (400) for malformed JSON, a missing or mistyped field, or a
// value out of range. Fields Whet does not implement (tools, logprobs, ...) are
// refused rather than silently ignored when they would change the answer.
CompletionRequest parse_completion_request(std::string_view body, bool chat, const CompletionLimits& limits);

}  // namespace whet::serve
