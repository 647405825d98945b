#include "tune/study_schema.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>

#include "core/error.h"
#include "io/sqlite_statement.h"

namespace whet::tune {
namespace {

// The tables as SQLAlchemy emits Optuna's models for SQLite: the same names,
// column types (VARCHAR lengths included), keys, unique constraints, foreign
// keys and indexes, so that Optuna's later alembic migrations apply to a Whet
// study as to its own. tests/python/check_optuna_study.py compares this schema
// with the one Optuna creates, table by table.
constexpr const char* kTables = R"sql(
CREATE TABLE studies (
  study_id INTEGER NOT NULL, study_name VARCHAR(512) NOT NULL,
  PRIMARY KEY (study_id));
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE TABLE version_info (
  version_info_id INTEGER NOT NULL, schema_version INTEGER, library_version VARCHAR(256),
  PRIMARY KEY (version_info_id), CHECK (version_info_id=1));
CREATE TABLE study_directions (
  study_direction_id INTEGER NOT NULL, direction VARCHAR(8) NOT NULL, study_id INTEGER NOT NULL,
  objective INTEGER NOT NULL,
  PRIMARY KEY (study_direction_id), UNIQUE (study_id, objective),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_user_attributes (
  study_user_attribute_id INTEGER NOT NULL, study_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (study_user_attribute_id), UNIQUE (study_id, "key"),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE study_system_attributes (
  study_system_attribute_id INTEGER NOT NULL, study_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (study_system_attribute_id), UNIQUE (study_id, "key"),
  FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE TABLE trials (
  trial_id INTEGER NOT NULL, number INTEGER, study_id INTEGER, state VARCHAR(8) NOT NULL,
  datetime_start DATETIME, datetime_complete DATETIME,
  PRIMARY KEY (trial_id), FOREIGN KEY(study_id) REFERENCES studies (study_id));
CREATE INDEX ix_trials_study_id ON trials (study_id);
CREATE TABLE trial_user_attributes (
  trial_user_attribute_id INTEGER NOT NULL, trial_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (trial_user_attribute_id), UNIQUE (trial_id, "key"),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_system_attributes (
  trial_system_attribute_id INTEGER NOT NULL, trial_id INTEGER, "key" VARCHAR(512), value_json TEXT,
  PRIMARY KEY (trial_system_attribute_id), UNIQUE (trial_id, "key"),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_params (
  param_id INTEGER NOT NULL, trial_id INTEGER, param_name VARCHAR(512), param_value FLOAT,
  distribution_json TEXT,
  PRIMARY KEY (param_id), UNIQUE (trial_id, param_name),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_values (
  trial_value_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, objective INTEGER NOT NULL, value FLOAT,
  value_type VARCHAR(7) NOT NULL,
  PRIMARY KEY (trial_value_id), UNIQUE (trial_id, objective),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_intermediate_values (
  trial_intermediate_value_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, step INTEGER NOT NULL,
  intermediate_value FLOAT, intermediate_value_type VARCHAR(7) NOT NULL,
  PRIMARY KEY (trial_intermediate_value_id), UNIQUE (trial_id, step),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE trial_heartbeats (
  trial_heartbeat_id INTEGER NOT NULL, trial_id INTEGER NOT NULL, heartbeat DATETIME NOT NULL,
  PRIMARY KEY (trial_heartbeat_id), UNIQUE (trial_id),
  FOREIGN KEY(trial_id) REFERENCES trials (trial_id));
CREATE TABLE alembic_version (
  version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
)sql";

// The revisions before kAlembicRevision, oldest first (Optuna 0.9 to 3.0).
constexpr std::array<std::string_view, 9> kOlderRevisions = {"v0.9.0.a", "v1.2.0.a", "v1.3.0.a", "v2.4.0.a", "v2.6.0.a",
                                                             "v3.0.0.a", "v3.0.0.b", "v3.0.0.c", "v3.0.0.d"};

bool has_table(sqlite3* db, const std::string& path, std::string_view table) {
  return Statement(db, path, "open", "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?")
      .bind(table)
      .step();
}

}  // namespace

bool database_is_empty(sqlite3* db, const std::string& path) {
  Statement count(db, path, "open", "SELECT count(*) FROM sqlite_schema");
  return count.step() && count.integer(0) == 0;
}

void create_study_schema(sqlite3* db, const std::string& path) {
  char* message = nullptr;
  if (sqlite3_exec(db, kTables, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string reason = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    fail(path, "create the study tables: {}", reason);
  }
  Statement(db, path, "create the study tables",
            "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)")
      .bind(kOptunaSchemaVersion, kOptunaVersion)
      .run();
  Statement(db, path, "create the study tables", "INSERT INTO alembic_version (version_num) VALUES (?)")
      .bind(kAlembicRevision)
      .run();
}

void check_study_schema(sqlite3* db, const std::string& path) {
  if (!has_table(db, path, "alembic_version") || !has_table(db, path, "studies") || !has_table(db, path, "trials"))
    fail(path,
         "open: a SQLite database, but not an Optuna study database (no alembic_version, studies and trials "
         "tables); a study folder's study.db is made by whet tune or Optuna");
  Statement revision(db, path, "open", "SELECT version_num FROM alembic_version");
  const std::string found = revision.step() ? revision.text(0) : "(none)";
  if (found == kAlembicRevision) return;
  if (std::find(kOlderRevisions.begin(), kOlderRevisions.end(), found) != kOlderRevisions.end())
    fail(path,
         "open: an Optuna study of an older schema (revision {}); upgrade it with "
         "`optuna storage upgrade --storage sqlite:///{}` (Optuna {}), then run again",
         found, path, kOptunaVersion);
  fail(path,
       "open: an Optuna study of schema revision {}, newer than (or unknown to) this Whet, which reads and "
       "writes revision {} (Optuna 3.2 to {})",
       found, kAlembicRevision, kOptunaVersion);
}

}  // namespace whet::tune
