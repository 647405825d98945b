#include "tune/study_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"
#include "tune/study_columns.h"
#include "tune/study_rows.h"
#include "tune/study_schema.h"

// Durability: a rollback journal (journal_mode DELETE, Optuna's own SQLite
// default) rather than WAL, so that study.db alone always holds every committed
// trial: people copy that one file to open it in optuna-dashboard elsewhere,
// and a WAL study would leave its latest trials behind in study.db-wal.
// A process killed mid-transaction leaves a hot journal, which the next opener
// (Whet or Optuna) rolls back. synchronous EXTRA also syncs the folder after
// the journal is deleted, so a commit survives a power cut once its call has
// returned. Trials are minutes apart: the few fsyncs a call costs do not count.
namespace whet::tune {
namespace {

std::string study_file(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail(dir, "cannot create the study folder: {}", error.message());
  return dir + "/" + StudyStore::kFileName;
}

std::string names_of_studies(sqlite3* db, const std::string& path) {
  Statement row(db, path, "open", "SELECT study_name FROM studies ORDER BY study_id");
  std::string names;
  while (row.step()) names += (names.empty() ? "'" : ", '") + row.text(0) + "'";
  return names;
}

}  // namespace

StudyStore::StudyStore(const std::string& dir, const std::string& study_name, Direction direction)
    : path_(study_file(dir)), direction_(direction), lock_(dir, "whet tune") {
  db_ = open_sqlite(path_);
  try {
    // Reading the file first: one that is not SQLite fails here, before anything is written to it.
    Statement(db_, path_, "open", "SELECT count(*) FROM sqlite_schema").run();
    Statement(db_, path_, "open", "PRAGMA journal_mode = DELETE").run();
    Statement(db_, path_, "open", "PRAGMA synchronous = EXTRA").run();
    check_sqlite_integrity(db_, path_);
    open_study(study_name);
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

StudyStore::~StudyStore() { sqlite3_close_v2(db_); }

// The schema and the study, made or checked in one transaction.
void StudyStore::open_study(const std::string& study_name) {
  SqliteTransaction transaction(db_, path_, "open");
  if (database_is_empty(db_, path_)) create_study_schema(db_, path_);
  check_study_schema(db_, path_);
  Statement study(db_, path_, "open", "SELECT study_id FROM studies WHERE study_name = ?");
  if (study.bind(study_name).step()) {
    study_id_ = study.integer(0);
  } else {
    const std::string others = names_of_studies(db_, path_);
    if (!others.empty())
      fail(path_, "open: the database holds the study {}, not '{}'; a study folder keeps one study", others,
           study_name);
    Statement(db_, path_, "open", "INSERT INTO studies (study_name) VALUES (?)").bind(study_name).run();
    study_id_ = sqlite3_last_insert_rowid(db_);
    Statement(db_, path_, "open", "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, 0)")
        .bind(direction_name(direction_), study_id_)
        .run();
  }
  Statement directions(db_, path_, "open", "SELECT direction FROM study_directions WHERE study_id = ?");
  std::vector<std::string> found;
  for (directions.bind(study_id_); directions.step();) found.push_back(directions.text(0));
  if (found.size() != 1)
    fail(path_, "open: study '{}' has {} objectives; whet tune optimises one", study_name, found.size());
  if (parse_direction_name(found[0]) != direction_)
    fail(path_, "open: study '{}' is to {}, not to {}; start another study folder to change the direction", study_name,
         found[0], direction_name(direction_));
  transaction.commit();
}

void StudyStore::set_study_attr(const std::string& key, const nlohmann::json& value) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "set study attribute");
  write_attr(db_, path_, kStudyUserAttrs, study_id_, key, value);
  transaction.commit();
}

std::map<std::string, nlohmann::json> StudyStore::study_attrs() {
  std::lock_guard lock(mutex_);
  return read_attrs(db_, path_, kStudyUserAttrs, study_id_);
}

std::vector<Trial> StudyStore::trials() {
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(db_, path_, "read trials");  // the five reads see one state of the file
  std::vector<Trial> trials = read_trials(db_, path_, study_id_);
  snapshot.commit();
  return trials;
}

std::map<std::string, nlohmann::json> StudyStore::trial_attrs(int64_t number) {
  std::lock_guard lock(mutex_);
  Statement trial(db_, path_, "read trial attributes", "SELECT trial_id FROM trials WHERE study_id = ? AND number = ?");
  if (!trial.bind(study_id_, number).step()) fail(path_, "read trial attributes: no trial {}", number);
  return read_attrs(db_, path_, kTrialUserAttrs, trial.integer(0));
}

}  // namespace whet::tune
