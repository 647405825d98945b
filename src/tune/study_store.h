#pragma once
// A hyperparameter study kept in STUDY_DIR/study.db, a SQLite file in
// Optuna's RDB storage schema (tune/study_schema.h), so that
// optuna.load_study(storage="sqlite:///STUDY_DIR/study.db") and
// optuna-dashboard read a Whet study, and Whet continues one Optuna wrote.
//
// Every call that writes is one transaction, on disk before it returns: a
// process killed at any moment leaves the study as it was after its last
// completed call. One process at a time works in a study folder (a lock on
// STUDY_DIR/.lock, dropped by the kernel when the process dies), so a trial
// found RUNNING by the process holding the lock was left by one that stopped:
// recover_interrupted() marks it failed and queues its parameters again.
// Thread-safe: one connection behind one mutex (trials may run in parallel).
// Failures are whet::Error "[<database path>] <operation>: <reason>".
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/folder_lock.h"
#include "tune/trial.h"

struct sqlite3;

namespace whet::tune {

// A trial found RUNNING when the study was recovered: now FAIL, and re-run by
// a new WAITING trial with the same parameters unless it had been re-run
// max_reruns times already.
struct InterruptedTrial {
  int64_t number = 0;
  std::optional<int64_t> rerun;  // the WAITING trial's number
  friend bool operator==(const InterruptedTrial&, const InterruptedTrial&) = default;
};

class StudyStore {
 public:
  static constexpr const char* kFileName = "study.db";
  // The trial user attribute that holds Trial::note (the dashboard shows it).
  static constexpr const char* kNoteAttr = "note";
  // The trial user attributes of a cross-validated trial: each fold's value
  // (a list; Trial::fold_values), and their sample standard deviation.
  static constexpr const char* kFoldValuesAttr = "fold_values";
  static constexpr const char* kFoldStdAttr = "fold_std";
  // How the note of a trial recover_interrupted() failed begins: it did not run to an end.
  static constexpr std::string_view kInterruptedNote = "interrupted: ";

  // Opens the study `study_name` in DIR/study.db, making the folder, the file
  // and the study when they are missing. Refused: a folder another process is
  // using; a file that is not SQLite, is corrupted, or is not an Optuna study
  // database at schema revision kAlembicRevision; a database holding other
  // studies but not this one; the study with another direction or with
  // several objectives.
  StudyStore(const std::string& dir, const std::string& study_name, Direction direction);
  ~StudyStore();
  StudyStore(const StudyStore&) = delete;
  StudyStore& operator=(const StudyStore&) = delete;

  const std::string& path() const { return path_; }
  Direction direction() const { return direction_; }

  // The study's user attributes (JSON values): what the caller needs to resume
  // it, e.g. the space and the settings it was started with.
  void set_study_attr(const std::string& key, const nlohmann::json& value);
  std::map<std::string, nlohmann::json> study_attrs();

  // Every trial of the study, by number, as one consistent snapshot.
  std::vector<Trial> trials();
  // A trial's user attributes: those set with set_trial_attr, and kNoteAttr.
  std::map<std::string, nlohmann::json> trial_attrs(int64_t number);

  // A new RUNNING trial with these sampled parameters (Optuna's internal form:
  // a categorical's index); `distributions` holds one per parameter. Returns
  // its number: the count of trials before it.
  int64_t start_trial(const std::map<std::string, double>& params,
                      const std::map<std::string, Distribution>& distributions);
  // The oldest WAITING trial, now RUNNING, with the parameters it holds: a
  // re-run queued by recover_interrupted (or Optuna's RetryFailedTrialCallback)
  // holds them all; one queued by Optuna's enqueue_trial holds none (its values
  // wait in the system attribute fixed_params, which Whet does not read).
  // None if no trial waits.
  std::optional<Trial> start_waiting_trial();

  // The calls below change a RUNNING trial only; any other is an error.
  // An intermediate value of the objective at `step` (any double: NaN and
  // infinities are kept as such); a step reported again is replaced.
  void report(int64_t number, int64_t step, double value);
  // A user attribute (JSON), e.g. the trial's resolved config and its run folder.
  void set_trial_attr(int64_t number, const std::string& key, const nlohmann::json& value);
  // Ends the trial as Optuna's tell() does and returns the state recorded:
  // Complete needs `value`, and a NaN value makes the trial Fail; Pruned and
  // Fail take no value, and a pruned trial keeps its last intermediate value
  // (unless NaN) as its value. A non-empty `note` (why it was pruned or
  // failed; for a NaN value, that it was) is stored as the user attribute kNoteAttr.
  TrialState finish(int64_t number, TrialState state, std::optional<double> value, const std::string& note);

  // Trials left RUNNING by a process that stopped: each becomes FAIL with a
  // note, and unless it was itself the max_reruns-th re-run of a trial, a new
  // WAITING trial takes its parameters, with the system attributes Optuna's
  // RetryFailedTrialCallback writes ("failed_trial": the first trial that
  // failed, "retry_history": the numbers that failed before). One transaction.
  std::vector<InterruptedTrial> recover_interrupted(int max_reruns);

 private:
  int64_t running_trial_id(int64_t number, std::string_view operation);
  struct NewTrial {
    int64_t trial_id, number;
  };
  NewTrial insert_trial(TrialState state, std::string_view operation);
  std::optional<int64_t> queue_rerun(int64_t trial_id, int64_t number, int max_reruns);
  void open_study(const std::string& study_name);

  std::string path_;
  Direction direction_;
  FolderLock lock_;
  std::mutex mutex_;  // guards db_
  sqlite3* db_ = nullptr;
  int64_t study_id_ = 0;
};

}  // namespace whet::tune
