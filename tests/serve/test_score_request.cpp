// POST /v1/score bodies: each shape of input read back as given, and every bad
// or hostile body refused with a 400 naming the field (also run under ASan).
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/score_request.h"

namespace whet::serve {
namespace {

void expect_refused(const std::string& body, const std::string& param, size_t max_inputs = 4) {
  try {
    parse_score_request(body, max_inputs);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, param) << body << " -> " << e.what();
  }
}

TEST(ScoreRequest, EveryShapeOfInput) {
  const ScoreRequest one = parse_score_request(R"({"model": "rm", "input": "Just text."})", 4);
  EXPECT_EQ(one.model, "rm");
  ASSERT_EQ(one.inputs.size(), 1u);
  EXPECT_FALSE(one.inputs[0].prompt.chat());
  EXPECT_EQ(one.inputs[0].prompt.text, "");
  EXPECT_EQ(one.inputs[0].completion, "Just text.");

  const ScoreRequest r = parse_score_request(
      R"({"model": "rm", "input": [
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
                          {"role": "assistant", "content": "Hello."}]},
            {"prompt": "Q: 2+2?\nA:", "completion": " 4"},
            {"prompt": [{"role": "user", "content": "Name a sea."}], "completion": "The Baltic."}]})",
      4);
  ASSERT_EQ(r.inputs.size(), 3u);
  ASSERT_EQ(r.inputs[0].prompt.messages.size(), 2u);
  EXPECT_EQ(r.inputs[0].prompt.messages[1].content, "Hi?");
  EXPECT_EQ(r.inputs[0].completion, "Hello.");
  EXPECT_EQ(r.inputs[1].prompt.text, "Q: 2+2?\nA:");
  EXPECT_EQ(r.inputs[1].completion, " 4");
  ASSERT_EQ(r.inputs[2].prompt.messages.size(), 1u);
  EXPECT_EQ(r.inputs[2].completion, "The Baltic.");
}

TEST(ScoreRequest, BadFieldsAreNamed) {
  expect_refused(R"({"input": "x"})", "model");
  expect_refused(R"({"model": 3, "input": "x"})", "model");
  expect_refused(R"({"model": "rm"})", "input");
  expect_refused(R"({"model": "rm", "input": "x", "inputs": ["y"]})", "inputs");
  expect_refused(R"({"model": "rm", "input": []})", "input");
  expect_refused(R"({"model": "rm", "input": ["a", "b", "c", "d", "e"]})", "input");
  expect_refused(R"({"model": "rm", "input": ""})", "input");
  expect_refused(R"({"model": "rm", "input": ["a", 5]})", "input[1]");
  expect_refused(R"({"model": "rm", "input": [{"text": "a"}]})", "input[0].text");
  expect_refused(R"({"model": "rm", "input": [{"messages": []}]})", "input[0].messages");
  expect_refused(R"({"model": "rm", "input": [{"messages": [{"role": "user", "content": "a"}]}]})",
                 "input[0].messages[0].role");
  expect_refused(R"({"model": "rm", "input": [{"messages": [{"role": "assistant", "content": "a"}]}]})",
                 "input[0].messages");
  expect_refused(R"({"model": "rm", "input": [{"messages": [{"role": "user", "content": "a"},
                                                             {"role": "assistant", "content": ""}]}]})",
                 "input[0].messages[1].content");
  expect_refused(R"({"model": "rm", "input": [{"messages": [{"role": "robot", "content": "a"},
                                                             {"role": "assistant", "content": "b"}]}]})",
                 "input[0].messages[0]");
  expect_refused(R"({"model": "rm", "input": [{"messages": [{"role": "user", "content": 1},
                                                             {"role": "assistant", "content": "b"}]}]})",
                 "input[0].messages[0]");
  expect_refused(R"({"model": "rm", "input": [{"prompt": "q"}]})", "input[0].completion");
  expect_refused(R"({"model": "rm", "input": [{"completion": "a"}]})", "input[0].prompt");
  expect_refused(R"({"model": "rm", "input": [{"prompt": 4, "completion": "a"}]})", "input[0].prompt");
  expect_refused(R"({"model": "rm", "input": [{"prompt": "q", "completion": ""}]})", "input[0].completion");
  expect_refused(R"({"model": "rm", "input": [{"prompt": "q", "completion": "a",
                                                "messages": [{"role": "user", "content": "a"}]}]})",
                 "input[0]");
}

TEST(ScoreRequest, HostileBodiesAreRefusedCleanly) {
  for (const std::string& body :
       {std::string(""), std::string("[]"), std::string("\"x\""), std::string("{"),
        std::string("{\"model\": \"rm\", \"input\": \"a\"} trailing"), std::string(100000, '['),
        std::string("{\"model\": \"rm\", \"input\":") + std::string(5000, '['),
        std::string("{\"model\": \"rm\", \"input\": [{\"messages\": ") + std::string(5000, '{'),
        std::string("{\"model\": \"\xff\xfe\", \"input\": \"a\"}"),
        std::string("{\"model\": \"rm\", \"input\": \"a\\ud800\"}"),
        std::string("{\"model\": \"rm\", \"input\": [[[\"a\"]]]}")}) {
    try {
      parse_score_request(body, 4);
      ADD_FAILURE() << "accepted: " << body.substr(0, 80);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400);
      EXPECT_FALSE(std::string(e.what()).empty());
    }
  }
}

}  // namespace
}  // namespace whet::serve
