// The store's completions and feedback: read back as written, the oldest
// completions forgotten past the bound, feedback paged newest first, and a
// database from before feedback existed (schema 1) opened with its jobs intact.
#include <gtest/gtest.h>

#include "serve/job_store.h"
#include "serve/job_store_rollback.h"
#include "test_support.h"

namespace whet::serve {
namespace {

std::string db_path() { return test::this_test_scratch("job_store_feedback_") + "/whet.db"; }

StoredCompletion completion(const std::string& id, int64_t index, const std::string& answer) {
  return StoredCompletion{id, index, "tiny", nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}}), answer, 7};
}

TEST(JobStoreFeedback, CompletionsReadBackAndTheOldestAreForgotten) {
  JobStore store(db_path());
  store.add_completions({completion("chatcmpl-1", 0, "a"), completion("chatcmpl-1", 1, "b")}, 3);
  EXPECT_EQ(store.get_completion("chatcmpl-1", 1), completion("chatcmpl-1", 1, "b"));
  EXPECT_FALSE(store.get_completion("chatcmpl-1", 2));
  EXPECT_FALSE(store.get_completion("chatcmpl-2", 0));
  store.add_completions({completion("cmpl-2", 0, "c"), completion("cmpl-2", 1, "d")}, 3);
  EXPECT_EQ(store.completion_count(), 3);
  EXPECT_FALSE(store.get_completion("chatcmpl-1", 0));  // the oldest choice went first
  EXPECT_TRUE(store.get_completion("chatcmpl-1", 1));
  store.add_completions({completion("cmpl-3", 0, "e")}, 0);  // keeping none stores nothing
  EXPECT_FALSE(store.get_completion("cmpl-3", 0));
  EXPECT_EQ(store.completion_count(), 3);
}

TEST(JobStoreFeedback, FeedbackReadsBackNewestFirst) {
  JobStore store(db_path());
  Feedback rating;
  rating.kind = "rating";
  rating.completions = {completion("chatcmpl-1", 0, "a")};
  rating.rating = "down";
  rating.preferred_output = "better";
  rating.comment = "no";
  Feedback choice;
  choice.kind = "comparison";
  choice.completions = {completion("chatcmpl-1", 0, "a"), completion("chatcmpl-2", 0, "b")};
  choice.preferred = 1;
  const Feedback first = store.add_feedback(rating);
  const Feedback second = store.add_feedback(choice);
  EXPECT_TRUE(first.id.starts_with("fb-"));
  EXPECT_EQ(store.list_feedback("", 10), (std::vector<Feedback>{second, first}));
  EXPECT_EQ(store.list_feedback(second.id, 10), (std::vector<Feedback>{first}));
  EXPECT_EQ(store.list_feedback("", 1), (std::vector<Feedback>{second}));
  test::expect_error([&] { store.list_feedback("fb-none", 1); }, {"list feedback", "fb-none"});
}

// Schema 1 is what a store is with the feedback tables of migration 2, the grader
// column of 3 and the human evaluation tables of 4 taken away.
TEST(JobStoreFeedback, ADatabaseOfSchemaOneGainsFeedbackAndKeepsItsJobs) {
  const std::string path = db_path();
  const std::string job_id = test::job_store_rolled_back(
      path, "DROP TABLE completions; DROP TABLE feedback; ALTER TABLE jobs DROP COLUMN grader; "
            "DROP TABLE human_eval_sessions; DROP TABLE human_eval_prompts; DROP TABLE human_eval_answers; "
            "DROP TABLE human_eval_items; DROP TABLE human_eval_shown; DROP TABLE human_eval_ratings; "
            "PRAGMA user_version = 1");
  JobStore store(path);
  EXPECT_TRUE(store.get_job(job_id));
  EXPECT_TRUE(store.get_job(job_id)->grader.is_null());  // version 3's column, empty for the jobs before it
  store.add_completions({completion("chatcmpl-1", 0, "a")}, 10);
  EXPECT_TRUE(store.get_completion("chatcmpl-1", 0));
}

}  // namespace
}  // namespace whet::serve
