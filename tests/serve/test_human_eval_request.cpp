// Human evaluation request bodies: read back as given with their defaults, and
// every bad or hostile body refused with a 400 naming the field (also run under ASan).
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/human_eval_request.h"

namespace whet::serve {
namespace {

template <typename Parse>
void expect_refused(Parse parse, const std::string& body, const std::string& param) {
  try {
    parse(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, param) << body << " -> " << e.what();
  }
}

const auto session = [](const std::string& body) { return parse_session_request(body, 512); };

TEST(HumanEvalRequest, ASessionWithDefaults) {
  const SessionRequest r = session(R"({"task": "tasks/qa.jsonl", "models": ["tiny", "tiny-tuned"]})");
  EXPECT_EQ(r.task, "tasks/qa.jsonl");
  EXPECT_EQ(r.name, "tasks/qa.jsonl");
  EXPECT_EQ(r.models, (std::vector<std::string>{"tiny", "tiny-tuned"}));
  EXPECT_EQ(r.max_tokens, 256);
  EXPECT_EQ(r.temperature, 0);
  EXPECT_EQ(r.seed, 0u);
  EXPECT_EQ(parse_session_request(R"({"task": "t", "models": ["a", "b"]})", 64).max_tokens, 64);  // the server's cap

  const SessionRequest full = session(
      R"({"name": "week 3", "task": "file-1", "models": ["a", "b", "c"], "max_tokens": 40, "temperature": 0.7, "seed": 12})");
  EXPECT_EQ(full.name, "week 3");
  EXPECT_EQ(full.models.size(), 3u);
  EXPECT_EQ(full.max_tokens, 40);
  EXPECT_DOUBLE_EQ(full.temperature, 0.7);
  EXPECT_EQ(full.seed, 12u);
}

TEST(HumanEvalRequest, BadSessionsNameTheField) {
  expect_refused(session, R"({"models": ["a", "b"]})", "task");
  expect_refused(session, R"({"task": "", "models": ["a", "b"]})", "task");
  expect_refused(session, R"({"task": "t"})", "models");
  expect_refused(session, R"({"task": "t", "models": ["a"]})", "models");
  expect_refused(session, R"({"task": "t", "models": "a,b"})", "models");
  expect_refused(session, R"({"task": "t", "models": ["a", 3]})", "models[1]");
  expect_refused(session, R"({"task": "t", "models": ["a", "a"]})", "models[1]");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "max_tokens": 0})", "max_tokens");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "max_tokens": 513})", "max_tokens");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "max_tokens": 18446744073709551615})", "max_tokens");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "temperature": -1})", "temperature");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "temperature": "hot"})", "temperature");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "seed": -2})", "seed");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "temprature": 0})", "temprature");
  expect_refused(session, R"({"task": "t", "models": ["a", "b"], "name": 5})", "name");
  expect_refused(session, R"([1, 2])", "");
  expect_refused(session, R"({"task": )", "");
  expect_refused(session, std::string(100000, '['), "");
}

TEST(HumanEvalRequest, ARatingAndItsRefusals) {
  const RatingRequest r =
      parse_rating_request(R"({"item_id": "item-3", "rater": "ann", "choice": "both_bad", "comment": "off topic"})");
  EXPECT_EQ(r.item_id, "item-3");
  EXPECT_EQ(r.rater, "ann");
  EXPECT_EQ(r.choice, "both_bad");
  EXPECT_EQ(r.comment, "off topic");
  EXPECT_EQ(parse_rating_request(R"({"item_id": "i", "rater": "b", "choice": "A", "comment": null})").comment, "");

  const auto rate = [](const std::string& body) { return parse_rating_request(body); };
  expect_refused(rate, R"({"rater": "ann", "choice": "A"})", "item_id");
  expect_refused(rate, R"({"item_id": "i", "choice": "A"})", "rater");
  expect_refused(rate, R"({"item_id": "i", "rater": "", "choice": "A"})", "rater");
  expect_refused(rate, R"({"item_id": "i", "rater": ")" + std::string(201, 'x') + R"(", "choice": "A"})", "rater");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann"})", "choice");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann", "choice": "a"})", "choice");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann", "choice": "C"})", "choice");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann", "choice": 0})", "choice");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann", "choice": "A", "comment": 3})", "comment");
  expect_refused(rate, R"({"item_id": "i", "rater": "ann", "choice": "A", "model": "x"})", "model");
}

}  // namespace
}  // namespace whet::serve
