// The completions the server remembers and the feedback given on them: the
// part of JobStore that POST /v1/feedback and `whet feedback export` use. The
// tables are made by the schema's migration 2 (job_store.cpp).
#include <sqlite3.h>

#include <limits>

#include "core/error.h"
#include "serve/job_store.h"
#include "io/sqlite_statement.h"

namespace whet::serve {
namespace {

constexpr std::string_view kSelectCompletion =
    "SELECT id, choice_index, model, prompt, answer, created_at FROM completions";
StoredCompletion read_completion_row(const Statement& row) {
  return StoredCompletion{row.text(0), row.integer(1), row.text(2), row.json(3), row.text(4), row.integer(5)};
}

// A feedback row holds the prompt once and its completions without it.
nlohmann::json completions_column(const std::vector<StoredCompletion>& completions) {
  nlohmann::json out = nlohmann::json::array();
  for (const StoredCompletion& c : completions) out.push_back(completion_json(c));
  return out;
}

constexpr std::string_view kSelectFeedback =
    "SELECT id, kind, created_at, prompt, completions, rating, preferred_output, preferred, comment FROM feedback";
Feedback read_feedback_row(const Statement& row) {
  Feedback f;
  f.id = row.text(0);
  f.kind = row.text(1);
  f.created_at = row.integer(2);
  const nlohmann::json prompt = row.json(3);
  const nlohmann::json completions = row.json(4);
  if (!completions.is_array()) row.bad_column(4, "is not a JSON array");
  try {
    for (const nlohmann::json& c : completions)
      f.completions.push_back(StoredCompletion{c.at("id").get<std::string>(), c.at("choice_index").get<int64_t>(),
                                               c.at("model").get<std::string>(), prompt,
                                               c.at("answer").get<std::string>(), c.at("created_at").get<int64_t>()});
  } catch (const nlohmann::json::exception& e) {
    row.bad_column(4, fmt::format("holds a malformed completion: {}", e.what()));
  }
  f.rating = row.text(5);
  f.preferred_output = row.optional_text(6);
  f.preferred = row.integer(7);
  f.comment = row.text(8);
  return f;
}

}  // namespace

nlohmann::json completion_json(const StoredCompletion& c) {
  return {{"id", c.id}, {"choice_index", c.choice_index}, {"model", c.model}, {"answer", c.answer},
          {"created_at", c.created_at}};
}

void JobStore::add_completions(const std::vector<StoredCompletion>& choices, int64_t keep) {
  if (keep <= 0 || choices.empty()) return;
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "add completions", "BEGIN IMMEDIATE").run();
  try {
    for (const StoredCompletion& c : choices)
      Statement(db_, path_, "add completions",
                "INSERT OR REPLACE INTO completions (id, choice_index, model, prompt, answer, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)")
          .bind(c.id, c.choice_index, c.model, c.prompt, c.answer, c.created_at)
          .run();
    // Rowids count the insertions (the newest row is never deleted), so the
    // oldest rows are those more than `keep` below the newest.
    Statement(db_, path_, "forget completions",
              "DELETE FROM completions WHERE rowid <= (SELECT max(rowid) FROM completions) - ?")
        .bind(keep)
        .run();
    Statement(db_, path_, "add completions", "COMMIT").run();
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<StoredCompletion> JobStore::get_completion(const std::string& id, int64_t choice_index) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "get completion", fmt::format("{} WHERE id = ? AND choice_index = ?", kSelectCompletion));
  if (!statement.bind(id, choice_index).step()) return std::nullopt;
  return read_completion_row(statement);
}

int64_t JobStore::completion_count() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "count completions", "SELECT count(*) FROM completions");
  return statement.step() ? statement.integer(0) : 0;
}

Feedback JobStore::add_feedback(Feedback feedback) {
  WHET_ASSERT(!feedback.completions.empty());
  std::lock_guard lock(mutex_);
  feedback.id = random_id("fb-");
  feedback.created_at = now_seconds();
  Statement(db_, path_, "add feedback",
            "INSERT INTO feedback (id, kind, created_at, prompt, completions, rating, preferred_output, preferred, "
            "comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(feedback.id, feedback.kind, feedback.created_at, feedback.completions.front().prompt,
            completions_column(feedback.completions), feedback.rating, feedback.preferred_output, feedback.preferred,
            feedback.comment)
      .run();
  return feedback;
}

std::vector<Feedback> JobStore::list_feedback(const std::string& after_id, int limit) {
  std::lock_guard lock(mutex_);
  if (limit < 1) fail(path_, "list feedback: limit must be at least 1, not {}", limit);
  int64_t after = std::numeric_limits<int64_t>::max();
  if (!after_id.empty()) {
    Statement cursor(db_, path_, "list feedback", "SELECT seq FROM feedback WHERE id = ?");
    if (!cursor.bind(after_id).step()) fail(path_, "list feedback: no feedback '{}' to list after", after_id);
    after = cursor.integer(0);
  }
  Statement statement(db_, path_, "list feedback",
                      fmt::format("{} WHERE seq < ? ORDER BY seq DESC LIMIT ?", kSelectFeedback));
  statement.bind(after, limit);
  std::vector<Feedback> out;
  while (statement.step()) out.push_back(read_feedback_row(statement));
  return out;
}

std::map<std::string, FeedbackTally> JobStore::feedback_by_model() {
  std::lock_guard lock(mutex_);
  std::map<std::string, FeedbackTally> out;
  Statement kept(db_, path_, "count feedback", "SELECT model, count(*) FROM completions GROUP BY model");
  while (kept.step()) out[kept.text(0)].completions = kept.integer(1);
  // Each feedback row names its completions in a JSON array; those still kept are joined by id and choice.
  Statement given(db_, path_, "count feedback",
                  "SELECT c.model, f.kind, f.rating, count(*) FROM feedback f, json_each(f.completions) e "
                  "JOIN completions c ON c.id = json_extract(e.value, '$.id') "
                  "AND c.choice_index = json_extract(e.value, '$.choice_index') GROUP BY 1, 2, 3");
  while (given.step()) {
    FeedbackTally& tally = out[given.text(0)];
    const int64_t count = given.integer(3);
    tally.feedback += count;
    if (given.text(1) == "rating") (given.text(2) == "up" ? tally.up : tally.down) += count;
  }
  return out;
}

}  // namespace whet::serve
