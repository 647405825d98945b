// Human evaluation sessions, their prompts, answers, items, what each rater was
// shown and the ratings: the part of JobStore that routes_human_eval.cpp and
// `whet feedback export --human-eval` use. The tables are made by the schema's
// migration 4 (job_store.cpp).
#include <sqlite3.h>

#include <limits>

#include "core/error.h"
#include "io/sqlite_statement.h"
#include "serve/job_store.h"

namespace whet::serve {
namespace {

// The session's columns, then its counts from the other tables.
constexpr std::string_view kSelectSession =
    "SELECT id, name, task, models, max_tokens, temperature, seed, status, error, created_at, "
    "(SELECT count(*) FROM human_eval_prompts p WHERE p.session_id = s.id), "
    "(SELECT count(*) FROM human_eval_items i WHERE i.session_id = s.id), "
    "(SELECT count(*) FROM human_eval_answers a WHERE a.session_id = s.id), "
    "(SELECT count(*) FROM human_eval_ratings r WHERE r.session_id = s.id) FROM human_eval_sessions s";
HumanEvalSession read_session_row(const Statement& row) {
  HumanEvalSession s;
  s.id = row.text(0);
  s.name = row.text(1);
  s.task = row.text(2);
  const nlohmann::json models = row.json(3);
  if (!models.is_array()) row.bad_column(3, "is not a JSON array");
  for (const nlohmann::json& m : models) {
    if (!m.is_string()) row.bad_column(3, "holds a model name that is not a string");
    s.models.push_back(m.get<std::string>());
  }
  s.max_tokens = int(row.integer(4));
  s.temperature = row.real(5);
  s.seed = uint64_t(row.integer(6));
  s.status = row.text(7);
  s.error = row.text(8);
  s.created_at = row.integer(9);
  s.prompts = row.integer(10);
  s.items = row.integer(11);
  s.answers = row.integer(12);
  s.ratings = row.integer(13);
  return s;
}

// Several statements as one transaction: all of them or none.
template <typename Body>
void in_transaction(sqlite3* db, const std::string& path, std::string_view operation, Body body) {
  Statement(db, path, operation, "BEGIN IMMEDIATE").run();
  try {
    body();
    Statement(db, path, operation, "COMMIT").run();
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// Every row `sql` selects for session `id`, read by `read_row`.
template <typename Record, typename ReadRow>
std::vector<Record> session_rows(sqlite3* db, const std::string& path, std::string_view operation, std::string_view sql,
                                 const std::string& id, ReadRow read_row) {
  Statement statement(db, path, operation, sql);
  statement.bind(id);
  std::vector<Record> out;
  while (statement.step()) out.push_back(read_row(statement));
  return out;
}

// {model_a, model_b} as the rater was shown the item, if ever.
std::optional<std::pair<std::string, std::string>> read_shown(sqlite3* db, const std::string& path,
                                                              const std::string& id, const std::string& item_id,
                                                              const std::string& rater) {
  Statement shown(db, path, "read a shown item",
                  "SELECT model_a, model_b FROM human_eval_shown WHERE session_id = ? AND item_id = ? AND rater = ?");
  if (!shown.bind(id, item_id, rater).step()) return std::nullopt;
  return std::pair{shown.text(0), shown.text(1)};
}

}  // namespace

HumanEvalSession JobStore::create_human_eval_session(HumanEvalSession session,
                                                     const std::vector<HumanEvalPrompt>& prompts,
                                                     const std::vector<HumanEvalItem>& items) {
  std::lock_guard lock(mutex_);
  session.id = random_id("heval-");
  session.created_at = now_seconds();
  session.status = "generating";
  session.error.clear();
  in_transaction(db_, path_, "create human evaluation session", [&] {
    Statement(db_, path_, "create human evaluation session",
              "INSERT INTO human_eval_sessions (id, name, task, models, max_tokens, temperature, seed, status, error, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(session.id, session.name, session.task, nlohmann::json(session.models), session.max_tokens,
              session.temperature, int64_t(session.seed), session.status, session.error, session.created_at)
        .run();
    for (const HumanEvalPrompt& p : prompts)
      Statement(db_, path_, "create human evaluation session",
                "INSERT INTO human_eval_prompts (session_id, prompt_index, line, prompt) VALUES (?, ?, ?, ?)")
          .bind(session.id, p.index, p.line, p.prompt)
          .run();
    for (size_t i = 0; i < items.size(); ++i)
      Statement(db_, path_, "create human evaluation session",
                "INSERT INTO human_eval_items (session_id, item_id, position, prompt_index, first_model, "
                "second_model) VALUES (?, ?, ?, ?, ?, ?)")
          .bind(session.id, items[i].id, int64_t(i), items[i].prompt_index, items[i].first, items[i].second)
          .run();
  });
  session.prompts = int64_t(prompts.size());
  session.items = int64_t(items.size());
  return session;
}

std::optional<HumanEvalSession> JobStore::get_human_eval_session(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "get human evaluation session", fmt::format("{} WHERE s.id = ?", kSelectSession));
  if (!statement.bind(id).step()) return std::nullopt;
  return read_session_row(statement);
}

std::vector<HumanEvalSession> JobStore::list_human_eval_sessions(const std::string& after_id, int limit) {
  std::lock_guard lock(mutex_);
  if (limit < 1) fail(path_, "list human evaluation sessions: limit must be at least 1, not {}", limit);
  int64_t after = std::numeric_limits<int64_t>::max();
  if (!after_id.empty()) {
    Statement cursor(db_, path_, "list human evaluation sessions", "SELECT seq FROM human_eval_sessions WHERE id = ?");
    if (!cursor.bind(after_id).step())
      fail(path_, "list human evaluation sessions: no session '{}' to list after", after_id);
    after = cursor.integer(0);
  }
  Statement statement(db_, path_, "list human evaluation sessions",
                      fmt::format("{} WHERE s.seq < ? ORDER BY s.seq DESC LIMIT ?", kSelectSession));
  statement.bind(after, limit);
  std::vector<HumanEvalSession> out;
  while (statement.step()) out.push_back(read_session_row(statement));
  return out;
}

std::vector<std::string> JobStore::generating_human_eval_sessions() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "list generating human evaluation sessions",
                      "SELECT id FROM human_eval_sessions WHERE status = 'generating' ORDER BY seq");
  std::vector<std::string> ids;
  while (statement.step()) ids.push_back(statement.text(0));
  return ids;
}

void JobStore::set_human_eval_status(const std::string& id, const std::string& status, const std::string& error) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "set human evaluation status",
            "UPDATE human_eval_sessions SET status = ?, error = ? WHERE id = ?")
      .bind(status, error, id)
      .run();
  if (sqlite3_changes(db_) == 0) fail(path_, "set human evaluation status: no session '{}'", id);
}

std::vector<HumanEvalPrompt> JobStore::human_eval_prompts(const std::string& id) {
  std::lock_guard lock(mutex_);
  return session_rows<HumanEvalPrompt>(
      db_, path_, "read human evaluation prompts",
      "SELECT prompt_index, line, prompt FROM human_eval_prompts WHERE session_id = ? ORDER BY prompt_index", id,
      [](const Statement& row) { return HumanEvalPrompt{row.integer(0), row.integer(1), row.json(2)}; });
}

std::vector<HumanEvalItem> JobStore::human_eval_items(const std::string& id) {
  std::lock_guard lock(mutex_);
  return session_rows<HumanEvalItem>(
      db_, path_, "read human evaluation items",
      "SELECT item_id, prompt_index, first_model, second_model FROM human_eval_items WHERE session_id = ? "
      "ORDER BY position",
      id, [](const Statement& row) { return HumanEvalItem{row.text(0), row.integer(1), row.text(2), row.text(3)}; });
}

void JobStore::add_human_eval_answer(const std::string& id, const HumanEvalAnswer& answer) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "add human evaluation answer",
            "INSERT OR REPLACE INTO human_eval_answers (session_id, prompt_index, model, text, finish_reason) "
            "VALUES (?, ?, ?, ?, ?)")
      .bind(id, answer.prompt_index, answer.model, answer.text, answer.finish_reason)
      .run();
}

std::vector<HumanEvalAnswer> JobStore::human_eval_answers(const std::string& id) {
  std::lock_guard lock(mutex_);
  return session_rows<HumanEvalAnswer>(
      db_, path_, "read human evaluation answers",
      "SELECT prompt_index, model, text, finish_reason FROM human_eval_answers WHERE session_id = ? "
      "ORDER BY prompt_index, model",
      id, [](const Statement& row) { return HumanEvalAnswer{row.integer(0), row.text(1), row.text(2), row.text(3)}; });
}

std::pair<std::string, std::string> JobStore::show_human_eval_item(const std::string& id, const std::string& item_id,
                                                                   const std::string& rater,
                                                                   const std::string& model_a,
                                                                   const std::string& model_b) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "record a shown item",
            "INSERT OR IGNORE INTO human_eval_shown (session_id, item_id, rater, model_a, model_b, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(id, item_id, rater, model_a, model_b, now_seconds())
      .run();
  const auto shown = read_shown(db_, path_, id, item_id, rater);
  WHET_ASSERT(shown);
  return *shown;
}

std::optional<std::pair<std::string, std::string>> JobStore::human_eval_shown(const std::string& id,
                                                                              const std::string& item_id,
                                                                              const std::string& rater) {
  std::lock_guard lock(mutex_);
  return read_shown(db_, path_, id, item_id, rater);
}

std::optional<std::string> JobStore::add_human_eval_rating(const std::string& id, const HumanEvalRating& r) {
  std::lock_guard lock(mutex_);
  std::optional<std::string> replaced;
  in_transaction(db_, path_, "add human evaluation rating", [&] {
    Statement earlier(db_, path_, "add human evaluation rating",
                      "SELECT choice FROM human_eval_ratings WHERE session_id = ? AND item_id = ? AND rater = ? "
                      "ORDER BY seq DESC LIMIT 1");
    if (earlier.bind(id, r.item_id, r.rater).step()) replaced = earlier.text(0);
    Statement(db_, path_, "add human evaluation rating",
              "INSERT INTO human_eval_ratings (session_id, item_id, rater, model_a, model_b, choice, comment, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(id, r.item_id, r.rater, r.model_a, r.model_b, r.choice, r.comment, now_seconds())
        .run();
  });
  return replaced;
}

std::vector<HumanEvalRating> JobStore::human_eval_ratings(const std::string& id) {
  std::lock_guard lock(mutex_);
  // The newest row of each (item, rater): the one no later row of the same pair follows.
  return session_rows<HumanEvalRating>(
      db_, path_, "read human evaluation ratings",
      "SELECT r.item_id, r.rater, r.model_a, r.model_b, r.choice, r.comment, r.created_at "
      "FROM human_eval_ratings r JOIN human_eval_items i ON i.session_id = r.session_id AND i.item_id = r.item_id "
      "WHERE r.session_id = ?1 AND r.seq = (SELECT max(seq) FROM human_eval_ratings l "
      "WHERE l.session_id = ?1 AND l.item_id = r.item_id AND l.rater = r.rater) "
      "ORDER BY i.position, r.rater",
      id, [](const Statement& row) {
        return HumanEvalRating{row.text(0), row.text(1), row.text(2), row.text(3),
                               row.text(4), row.text(5), row.integer(6)};
      });
}

}  // namespace whet::serve
