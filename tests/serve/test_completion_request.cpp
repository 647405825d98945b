// The completion request parser: OpenAI's fields read as its clients send them,
// and every bad or hostile body refused with a 400 naming the field.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/completion_request.h"

namespace whet::serve {
namespace {

CompletionRequest parse(const std::string& body, bool chat = true) {
  return parse_completion_request(body, chat, CompletionLimits{100, 4});
}

// The request must be refused with status 400 (or `status`) and name `param`.
void expect_refused(const std::string& body, const std::string& param, bool chat = true, int status = 400) {
  try {
    parse(body, chat);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, status) << body;
    EXPECT_EQ(e.param, param) << body << " -> " << e.what();
    EXPECT_EQ(error_json(e)["error"]["type"], "invalid_request_error");
  }
}

TEST(CompletionRequest, ReadsAChatRequestWithEveryCommonField) {
  const CompletionRequest r = parse(R"({"model": "m", "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]}],
      "temperature": 0, "top_p": 0.5, "max_tokens": 7, "stop": ["\n", "END"], "seed": 11, "n": 2,
      "stream": true, "stream_options": {"include_usage": true}, "user": "ignored", "metadata": {}})");
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "hi there");
  EXPECT_EQ(r.generation.sampling.temperature, 0.0f);
  EXPECT_EQ(r.generation.sampling.top_p, 0.5f);
  EXPECT_EQ(r.generation.max_tokens, 7);
  EXPECT_TRUE(r.max_tokens_given);
  EXPECT_EQ(r.generation.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_EQ(r.generation.sampling.seed, 11u);
  EXPECT_EQ(r.n, 2);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(CompletionRequest, DefaultsFollowOpenAI) {
  const CompletionRequest r = parse(R"({"model": "m", "prompt": "Once"})", false);
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_EQ(r.generation.sampling.temperature, 1.0f);
  EXPECT_EQ(r.generation.sampling.top_p, 1.0f);
  EXPECT_EQ(r.generation.max_tokens, 100);  // the server's cap; the context may lower it
  EXPECT_FALSE(r.max_tokens_given);
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(parse(R"({"model": "m", "prompt": ["one"], "max_completion_tokens": 3})", false).generation.max_tokens, 3);
  EXPECT_EQ(parse(R"({"model": "m", "messages": [{"role": "developer", "content": "x"}]})").messages[0].role, "system");
}

TEST(CompletionRequest, RefusesBadValuesNamingTheField) {
  const std::string chat = R"("model": "m", "messages": [{"role": "user", "content": "x"}])";
  expect_refused("{" + chat + R"(, "temperature": 2.5})", "temperature");
  expect_refused("{" + chat + R"(, "temperature": "hot"})", "temperature");
  expect_refused("{" + chat + R"(, "top_p": 0})", "top_p");
  expect_refused("{" + chat + R"(, "max_tokens": 0})", "max_tokens");
  expect_refused("{" + chat + R"(, "max_tokens": 101})", "max_tokens");
  expect_refused("{" + chat + R"(, "max_tokens": 1.5})", "max_tokens");
  expect_refused("{" + chat + R"(, "max_tokens": 18446744073709551615})", "max_tokens");
  expect_refused("{" + chat + R"(, "n": 5})", "n");
  expect_refused("{" + chat + R"(, "stop": ["a", "b", "c", "d", "e"]})", "stop");
  expect_refused("{" + chat + R"(, "stop": [""]})", "stop");
  expect_refused("{" + chat + R"(, "seed": "x"})", "seed");
  expect_refused("{" + chat + R"(, "stream": "yes"})", "stream");
  expect_refused("{" + chat + R"(, "stream_options": {"include_usage": true}})", "stream_options");
  expect_refused("{" + chat + R"(, "tools": [{"type": "function"}]})", "tools");
  expect_refused("{" + chat + R"(, "logprobs": true})", "logprobs");
  expect_refused("{" + chat + R"(, "response_format": {"type": "json_object"}})", "response_format");
  expect_refused("{" + chat + R"(, "presence_penalty": 1})", "presence_penalty");
  expect_refused(R"({"messages": [{"role": "user", "content": "x"}]})", "model");
  expect_refused(R"({"model": "m"})", "messages");
  expect_refused(R"({"model": "m", "messages": []})", "messages");
  expect_refused(R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})", "messages[0].role");
  expect_refused(R"({"model": "m", "messages": [{"role": "user"}]})", "messages[0].content");
  expect_refused(R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
                 "messages[0].content");
  expect_refused(R"({"model": "m", "prompt": ""})", "prompt", false);
  expect_refused(R"({"model": "m", "prompt": ["a", "b"]})", "prompt", false);
  expect_refused(R"({"model": "m", "prompt": 5})", "prompt", false);
}

TEST(CompletionRequest, HostileBodiesAreRefusedNotCrashed) {
  for (const std::string& body : {std::string(""), std::string("{"), std::string("[]"), std::string("null"),
                                  std::string("{\"model\": \"m\", \"messages\": [{]}"), std::string(100000, '['),
                                  std::string("{\"model\": \"\\ud800\"}"), std::string("\xff\xfe{}", 4),
                                  std::string("{\"model\": \"m\"}garbage")}) {
    try {
      parse(body);
      ADD_FAILURE() << "accepted: " << body.substr(0, 40);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400);
    }
  }
}

}  // namespace
}  // namespace whet::serve
