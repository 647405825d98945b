#include "tune/study_rows.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "io/sqlite_statement.h"
#include "tune/distribution_json.h"
#include "tune/python_json.h"
#include "tune/study_columns.h"
#include "tune/study_store.h"

namespace whet::tune {
namespace {

constexpr std::string_view kRead = "read trials";

// The rows of table `x` that belong to the study's trials (?1: study_id), or to
// one of them (?2: trial_id, or NULL for all).
std::string of_trials(std::string_view select_from_x) {
  return fmt::format(
      "{} JOIN trials t ON t.trial_id = x.trial_id WHERE t.study_id = ?1 AND (?2 IS NULL OR "
      "t.trial_id = ?2)",
      select_from_x);
}

// Trials by trial_id, to attach the other tables' rows to.
using TrialIndex = std::map<int64_t, Trial*>;

Trial& owner(const TrialIndex& index, const Statement& row) {
  const auto it = index.find(row.integer(0));
  WHET_ASSERT(it != index.end());  // the join keeps only the study's trials
  return *it->second;
}

std::vector<Trial> read_trial_rows(sqlite3* db, const std::string& path, int64_t study_id,
                                   std::optional<int64_t> trial_id, std::vector<int64_t>& ids) {
  Statement row(db, path, kRead,
                "SELECT trial_id, number, state FROM trials WHERE study_id = ?1 AND (?2 IS NULL OR trial_id = ?2) "
                "ORDER BY number, trial_id");
  row.bind(study_id, trial_id);
  std::vector<Trial> trials;
  while (row.step()) {
    Trial trial;
    trial.number = row.integer(1);
    const std::optional<TrialState> state = parse_state_name(row.text(2));
    if (!state) row.bad_column(2, fmt::format("holds an unknown trial state '{}'", row.text(2)));
    trial.state = *state;
    trials.push_back(std::move(trial));
    ids.push_back(row.integer(0));
  }
  return trials;
}

void read_params(Statement& row, const std::string& path, const TrialIndex& index) {
  while (row.step()) {
    Trial& trial = owner(index, row);
    const std::string name = row.text(1);
    const std::string where = fmt::format("{}: trial {} parameter '{}'", path, trial.number, name);
    if (row.is_null(2)) fail(where, "param_value is NULL");
    const Distribution distribution = distribution_from_json(row.json(3), where);
    const double value = row.real(2);
    if (distribution.kind == Distribution::Kind::Categorical &&
        (value != std::floor(value) || value < 0 || value >= double(distribution.choices.size())))
      fail(where, "param_value {} is not the index of one of its {} choices", value, distribution.choices.size());
    trial.params[name] = value;
    trial.distributions[name] = distribution;
  }
}

// A value and its type, columns 1 and 2 of `row`.
double stored_value_of(const Statement& row, const std::string& path, const Trial& trial) {
  const std::optional<double> number = row.is_null(1) ? std::nullopt : std::optional(row.real(1));
  const std::optional<double> value = value_from_stored(number, row.text(2));
  if (!value)
    fail(path, "{}: trial {}: value {} of type '{}' is not one Optuna writes", kRead, trial.number,
         number ? fmt::format("{}", *number) : "NULL", row.text(2));
  return *value;
}

std::string note_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Trial::fold_values, from the user attribute a cross-validated trial keeps them in.
void read_fold_values(sqlite3* db, const std::string& path, int64_t study_id, std::optional<int64_t> trial_id,
                      const TrialIndex& index) {
  Statement folds(db, path, kRead,
                  of_trials("SELECT x.trial_id, x.value_json FROM trial_user_attributes x") + " AND x.\"key\" = ?3");
  for (folds.bind(study_id, trial_id, std::string_view(StudyStore::kFoldValuesAttr)); folds.step();) {
    Trial& trial = owner(index, folds);
    const nlohmann::json values = folds.json(1);
    if (!values.is_array()) continue;
    for (const nlohmann::json& value : values)
      trial.fold_values.push_back(value.is_number() ? value.get<double>() : std::nan(""));
  }
}

}  // namespace

std::vector<Trial> read_trials(sqlite3* db, const std::string& path, int64_t study_id,
                               std::optional<int64_t> trial_id) {
  std::vector<int64_t> ids;
  std::vector<Trial> trials = read_trial_rows(db, path, study_id, trial_id, ids);
  TrialIndex index;
  for (size_t i = 0; i < trials.size(); ++i) index[ids[i]] = &trials[i];

  Statement params(
      db, path, kRead,
      of_trials("SELECT x.trial_id, x.param_name, x.param_value, x.distribution_json FROM trial_params x"));
  read_params(params.bind(study_id, trial_id), path, index);

  Statement values(db, path, kRead,
                   of_trials("SELECT x.trial_id, x.value, x.value_type FROM trial_values x") + " AND x.objective = 0");
  for (values.bind(study_id, trial_id); values.step();) {
    Trial& trial = owner(index, values);
    trial.value = stored_value_of(values, path, trial);
  }

  Statement intermediate(db, path, kRead,
                         of_trials("SELECT x.trial_id, x.intermediate_value, x.intermediate_value_type, x.step "
                                   "FROM trial_intermediate_values x"));
  for (intermediate.bind(study_id, trial_id); intermediate.step();) {
    Trial& trial = owner(index, intermediate);
    trial.intermediate[intermediate.integer(3)] = stored_value_of(intermediate, path, trial);
  }

  Statement notes(db, path, kRead,
                  of_trials("SELECT x.trial_id, x.value_json FROM trial_user_attributes x") + " AND x.\"key\" = ?3");
  for (notes.bind(study_id, trial_id, std::string_view(StudyStore::kNoteAttr)); notes.step();)
    owner(index, notes).note = note_text(notes.json(1));
  read_fold_values(db, path, study_id, trial_id, index);
  return trials;
}

std::map<std::string, nlohmann::json> read_attrs(sqlite3* db, const std::string& path, AttrTable table,
                                                 int64_t owner_id) {
  const std::string operation = fmt::format("read {}", table.table);  // outlives the statement, which keeps a view
  Statement row(db, path, operation,
                fmt::format("SELECT \"key\", value_json FROM {} WHERE {} = ?", table.table, table.owner_column));
  std::map<std::string, nlohmann::json> attrs;
  for (row.bind(owner_id); row.step();) attrs[row.text(0)] = row.json(1);
  return attrs;
}

void write_attr(sqlite3* db, const std::string& path, AttrTable table, int64_t owner_id, const std::string& key,
                const nlohmann::json& value) {
  const std::string operation = fmt::format("write {}", table.table);
  Statement(db, path, operation,
            fmt::format("INSERT INTO {0} ({1}, \"key\", value_json) VALUES (?, ?, ?) "
                        "ON CONFLICT ({1}, \"key\") DO UPDATE SET value_json = excluded.value_json",
                        table.table, table.owner_column))
      .bind(owner_id, key, python_json(value))
      .run();
}

}  // namespace whet::tune
