// StudyStore: a trial's life, from start to finish (tune/study_store.h).
#include <fmt/format.h>
#include <sqlite3.h>

#include <cmath>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"
#include "tune/distribution_json.h"
#include "tune/python_json.h"
#include "tune/study_columns.h"
#include "tune/study_rows.h"
#include "tune/study_store.h"

namespace whet::tune {

// The trial_id of trial `number`, which must be RUNNING: Optuna's rule too,
// so that a finished trial never changes.
int64_t StudyStore::running_trial_id(int64_t number, std::string_view operation) {
  Statement trial(db_, path_, operation, "SELECT trial_id, state FROM trials WHERE study_id = ? AND number = ?");
  if (!trial.bind(study_id_, number).step()) fail(path_, "{}: no trial {}", operation, number);
  if (trial.text(1) != state_name(TrialState::Running))
    fail(path_, "{}: trial {} is {}; only a running trial can change", operation, number, trial.text(1));
  return trial.integer(0);
}

// A trial numbered after every trial of the study (Optuna's number: the count
// of trials before it); WAITING trials have not started, so have no start time.
StudyStore::NewTrial StudyStore::insert_trial(TrialState state, std::string_view operation) {
  Statement count(db_, path_, operation, "SELECT count(*) FROM trials WHERE study_id = ?");
  count.bind(study_id_).step();
  const int64_t number = count.integer(0);
  const std::optional<std::string> start =
      state == TrialState::Waiting ? std::nullopt : std::optional(optuna_datetime_now());
  Statement(db_, path_, operation, "INSERT INTO trials (number, study_id, state, datetime_start) VALUES (?, ?, ?, ?)")
      .bind(number, study_id_, state_name(state), start)
      .run();
  return {sqlite3_last_insert_rowid(db_), number};
}

int64_t StudyStore::start_trial(const std::map<std::string, double>& params,
                                const std::map<std::string, Distribution>& distributions) {
  std::lock_guard lock(mutex_);
  constexpr std::string_view kOperation = "start trial";
  for (const auto& [name, value] : params) {
    if (!distributions.contains(name)) fail(path_, "{}: parameter '{}' has no distribution", kOperation, name);
  }
  if (distributions.size() != params.size())
    fail(path_, "{}: {} distributions for {} parameters", kOperation, distributions.size(), params.size());
  SqliteTransaction transaction(db_, path_, kOperation);
  const NewTrial trial = insert_trial(TrialState::Running, kOperation);
  for (const auto& [name, value] : params) {
    Statement(db_, path_, kOperation,
              "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)")
        .bind(trial.trial_id, name, value, python_json(distribution_to_json(distributions.at(name))))
        .run();
  }
  transaction.commit();
  return trial.number;
}

std::optional<Trial> StudyStore::start_waiting_trial() {
  std::lock_guard lock(mutex_);
  constexpr std::string_view kOperation = "start waiting trial";
  SqliteTransaction transaction(db_, path_, kOperation);
  Statement waiting(db_, path_, kOperation,
                    "SELECT trial_id FROM trials WHERE study_id = ? AND state = ? ORDER BY number LIMIT 1");
  if (!waiting.bind(study_id_, state_name(TrialState::Waiting)).step()) return std::nullopt;
  const int64_t trial_id = waiting.integer(0);
  Statement(db_, path_, kOperation, "UPDATE trials SET state = ?, datetime_start = ? WHERE trial_id = ?")
      .bind(state_name(TrialState::Running), optuna_datetime_now(), trial_id)
      .run();
  std::vector<Trial> trial = read_trials(db_, path_, study_id_, trial_id);
  transaction.commit();
  return trial.at(0);
}

void StudyStore::report(int64_t number, int64_t step, double value) {
  std::lock_guard lock(mutex_);
  constexpr std::string_view kOperation = "report";
  SqliteTransaction transaction(db_, path_, kOperation);
  const StoredValue stored = stored_value(value);
  Statement(db_, path_, kOperation,
            "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET "
            "intermediate_value = excluded.intermediate_value, "
            "intermediate_value_type = excluded.intermediate_value_type")
      .bind(running_trial_id(number, kOperation), step, stored.number, stored.type)
      .run();
  transaction.commit();
}

void StudyStore::set_trial_attr(int64_t number, const std::string& key, const nlohmann::json& value) {
  std::lock_guard lock(mutex_);
  constexpr std::string_view kOperation = "set trial attribute";
  SqliteTransaction transaction(db_, path_, kOperation);
  write_attr(db_, path_, kTrialUserAttrs, running_trial_id(number, kOperation), key, value);
  transaction.commit();
}

namespace {

// The value Optuna's tell() records for a pruned trial: its last intermediate
// value, unless that is NaN.
std::optional<double> last_intermediate(sqlite3* db, const std::string& path, int64_t trial_id) {
  Statement last(db, path, "finish",
                 "SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values "
                 "WHERE trial_id = ? ORDER BY step DESC LIMIT 1");
  if (!last.bind(trial_id).step()) return std::nullopt;
  const std::optional<double> value =
      value_from_stored(last.is_null(0) ? std::nullopt : std::optional(last.real(0)), last.text(1));
  if (!value || std::isnan(*value)) return std::nullopt;
  return value;
}

void record_value(sqlite3* db, const std::string& path, int64_t trial_id, double value) {
  const StoredValue stored = stored_value(value);
  Statement(db, path, "finish trial",
            "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, ?)")
      .bind(trial_id, stored.number, stored.type)
      .run();
}

}  // namespace

TrialState StudyStore::finish(int64_t number, TrialState state, std::optional<double> value, const std::string& note) {
  std::lock_guard lock(mutex_);
  constexpr std::string_view kOperation = "finish trial";
  if (state == TrialState::Running || state == TrialState::Waiting)
    fail(path_, "{}: {} is not a final state", kOperation, state_name(state));
  if (state == TrialState::Complete && !value) fail(path_, "{}: a complete trial needs its value", kOperation);
  if (state != TrialState::Complete && value)
    fail(path_, "{}: a {} trial takes no value", kOperation, state_name(state));
  SqliteTransaction transaction(db_, path_, kOperation);
  const int64_t trial_id = running_trial_id(number, kOperation);
  std::string why = note;
  if (state == TrialState::Complete && std::isnan(*value)) {
    state = TrialState::Fail;
    if (why.empty()) why = "its objective value was NaN";
  }
  Statement(db_, path_, kOperation, "UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?")
      .bind(state_name(state), optuna_datetime_now(), trial_id)
      .run();
  if (state == TrialState::Complete) record_value(db_, path_, trial_id, *value);
  if (state == TrialState::Pruned) {
    if (const std::optional<double> last = last_intermediate(db_, path_, trial_id))
      record_value(db_, path_, trial_id, *last);
  }
  if (!why.empty()) write_attr(db_, path_, kTrialUserAttrs, trial_id, kNoteAttr, why);
  transaction.commit();
  return state;
}

}  // namespace whet::tune
