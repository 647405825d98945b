// POST /v1/feedback bodies: the two shapes read back as given, and every bad or
// hostile body refused with a 400 naming the field (also run under ASan).
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/feedback_request.h"

namespace whet::serve {
namespace {

void expect_refused(const std::string& body, const std::string& param) {
  try {
    parse_feedback_request(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, param) << body << " -> " << e.what();
  }
}

TEST(FeedbackRequest, ARatingWithItsOptionalFields) {
  const FeedbackRequest r = parse_feedback_request(
      R"({"completion_id": "chatcmpl-1", "choice_index": 2, "rating": "down", "preferred_output": "Yes.",
          "comment": "too long"})");
  EXPECT_FALSE(r.comparison());
  EXPECT_EQ(r.choices, (std::vector<CompletionChoice>{{"chatcmpl-1", 2}}));
  EXPECT_EQ(r.rating, "down");
  EXPECT_EQ(r.preferred_output, "Yes.");
  EXPECT_EQ(r.comment, "too long");
  EXPECT_EQ(r.choice_param(0), "completion_id");

  const FeedbackRequest up = parse_feedback_request(R"({"completion_id": "cmpl-9", "rating": "up"})");
  EXPECT_EQ(up.choices, (std::vector<CompletionChoice>{{"cmpl-9", 0}}));
  EXPECT_FALSE(up.preferred_output.has_value());
  EXPECT_EQ(up.comment, "");
}

TEST(FeedbackRequest, AComparisonOfTwoChoices) {
  const FeedbackRequest r =
      parse_feedback_request(R"({"completion_ids": ["chatcmpl-a", "chatcmpl-a"], "choice_indices": [0, 1], "preferred": 1})");
  EXPECT_TRUE(r.comparison());
  EXPECT_EQ(r.choices, (std::vector<CompletionChoice>{{"chatcmpl-a", 0}, {"chatcmpl-a", 1}}));
  EXPECT_EQ(r.preferred, 1);
  EXPECT_EQ(r.choice_param(1), "completion_ids[1]");
  EXPECT_EQ(parse_feedback_request(R"({"completion_ids": ["a", "b"], "preferred": 0})").choices[1].choice_index, 0);
}

TEST(FeedbackRequest, BadFieldsAreNamed) {
  expect_refused(R"({"rating": "up"})", "completion_id");
  expect_refused(R"({"completion_id": 5, "rating": "up"})", "completion_id");
  expect_refused(R"({"completion_id": "", "rating": "up"})", "completion_id");
  expect_refused(R"({"completion_id": "c"})", "rating");
  expect_refused(R"({"completion_id": "c", "rating": true})", "rating");
  expect_refused(R"({"completion_id": "c", "rating": "meh"})", "rating");
  expect_refused(R"({"completion_id": "c", "rating": "up", "choice_index": -1})", "choice_index");
  expect_refused(R"({"completion_id": "c", "rating": "up", "choice_index": 1.5})", "choice_index");
  expect_refused(R"({"completion_id": "c", "rating": "up", "choice_index": 18446744073709551615})", "choice_index");
  expect_refused(R"({"completion_id": "c", "rating": "up", "preferred_output": "x"})", "preferred_output");
  expect_refused(R"({"completion_id": "c", "rating": "down", "preferred_output": ""})", "preferred_output");
  expect_refused(R"({"completion_id": "c", "rating": "down", "preferred_output": ["x"]})", "preferred_output");
  expect_refused(R"({"completion_id": "c", "rating": "up", "comment": 3})", "comment");
  expect_refused(R"({"completion_id": "c", "rating": "up", "preferred": 0})", "preferred");
  expect_refused(R"({"completion_id": "c", "rating": "up", "prefered_output": "typo"})", "prefered_output");
  expect_refused(R"({"completion_id": "c", "completion_ids": ["a", "b"], "rating": "up"})", "completion_ids");

  expect_refused(R"({"completion_ids": "a", "preferred": 0})", "completion_ids");
  expect_refused(R"({"completion_ids": ["a"], "preferred": 0})", "completion_ids");
  expect_refused(R"({"completion_ids": ["a", "b", "c"], "preferred": 0})", "completion_ids");
  expect_refused(R"({"completion_ids": ["a", 7], "preferred": 0})", "completion_ids[1]");
  expect_refused(R"({"completion_ids": ["a", "a"], "preferred": 0})", "completion_ids");
  expect_refused(R"({"completion_ids": ["a", "b"]})", "preferred");
  expect_refused(R"({"completion_ids": ["a", "b"], "preferred": 2})", "preferred");
  expect_refused(R"({"completion_ids": ["a", "b"], "preferred": "0"})", "preferred");
  expect_refused(R"({"completion_ids": ["a", "b"], "preferred": 0, "choice_indices": [0]})", "choice_indices");
  expect_refused(R"({"completion_ids": ["a", "b"], "preferred": 0, "choice_indices": [0, -3]})", "choice_indices[1]");
  expect_refused(R"({"completion_ids": ["a", "b"], "preferred": 0, "rating": "up"})", "rating");
}

TEST(FeedbackRequest, HostileBodiesAreRefusedCleanly) {
  for (const std::string& body : {std::string(""), std::string("[]"), std::string("\"x\""), std::string("{"),
                                 std::string("{\"completion_id\": \"c\", \"rating\": \"up\"} trailing"),
                                 std::string(100000, '['), std::string("{\"a\":") + std::string(5000, '{'),
                                 std::string("{\"completion_id\": \"\xff\xfe\", \"rating\": \"up\"}"),
                                 std::string("{\"completion_id\": \"c\\ud800\", \"rating\": \"up\"}"),
                                 std::string("{\"completion_id\": \"c\", \"rating\": \"up\", \"comment\": \"\0\"}", 54)}) {
    try {
      parse_feedback_request(body);
      ADD_FAILURE() << "accepted: " << body.substr(0, 80);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400);
      EXPECT_FALSE(std::string(e.what()).empty());
    }
  }
}

}  // namespace
}  // namespace whet::serve
