// StudyStore: trials a stopped process left RUNNING (tune/study_store.h).
//
// An interrupted trial is not restarted under its own number: a trial's state
// only moves forward, in Whet as in Optuna, so the study keeps the truth (this
// trial ran and did not finish) and the dashboard shows it. Its parameters are
// queued again as a new WAITING trial, the way Optuna's
// RetryFailedTrialCallback does after its heartbeat finds a stale trial, with
// the same system attributes, so RetryFailedTrialCallback.retried_trial_number
// reads a Whet re-run too. User attributes are not copied: the re-run gets its
// own run folder and config. A trial that kills its process each time it runs
// (say, out of memory) is re-run at most max_reruns times.
#include <fmt/format.h>
#include <sqlite3.h>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"
#include "tune/study_columns.h"
#include "tune/study_rows.h"
#include "tune/study_store.h"

namespace whet::tune {
namespace {

constexpr std::string_view kOperation = "recover interrupted trials";
constexpr const char* kFailedTrialAttr = "failed_trial";
constexpr const char* kRetryHistoryAttr = "retry_history";

}  // namespace

// Queues the parameters and system attributes of the trial with `trial_id`,
// which has just failed, as a new WAITING trial; none past max_reruns.
std::optional<int64_t> StudyStore::queue_rerun(int64_t trial_id, int64_t number, int max_reruns) {
  std::map<std::string, nlohmann::json> system = read_attrs(db_, path_, kTrialSystemAttrs, trial_id);
  nlohmann::json history = system.contains(kRetryHistoryAttr) ? system[kRetryHistoryAttr] : nlohmann::json::array();
  if (!history.is_array()) history = nlohmann::json::array();
  history.push_back(number);
  if (int64_t(history.size()) > max_reruns) return std::nullopt;
  const NewTrial rerun = insert_trial(TrialState::Waiting, kOperation);
  Statement(db_, path_, kOperation,
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
            "SELECT ?, param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?")
      .bind(rerun.trial_id, trial_id)
      .run();
  Statement(db_, path_, kOperation,
            "INSERT INTO trial_system_attributes (trial_id, \"key\", value_json) "
            "SELECT ?, \"key\", value_json FROM trial_system_attributes WHERE trial_id = ?")
      .bind(rerun.trial_id, trial_id)
      .run();
  if (!system.contains(kFailedTrialAttr))
    write_attr(db_, path_, kTrialSystemAttrs, rerun.trial_id, kFailedTrialAttr, number);
  write_attr(db_, path_, kTrialSystemAttrs, rerun.trial_id, kRetryHistoryAttr, history);
  return rerun.number;
}

std::vector<InterruptedTrial> StudyStore::recover_interrupted(int max_reruns) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, kOperation);
  std::vector<std::pair<int64_t, int64_t>> running;  // trial_id, number
  Statement row(db_, path_, kOperation,
                "SELECT trial_id, number FROM trials WHERE study_id = ? AND state = ? ORDER BY number");
  for (row.bind(study_id_, state_name(TrialState::Running)); row.step();)
    running.emplace_back(row.integer(0), row.integer(1));

  std::vector<InterruptedTrial> interrupted;
  for (const auto& [trial_id, number] : running) {
    Statement(db_, path_, kOperation, "UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?")
        .bind(state_name(TrialState::Fail), optuna_datetime_now(), trial_id)
        .run();
    const std::optional<int64_t> rerun = queue_rerun(trial_id, number, max_reruns);
    const std::string note =
        std::string(kInterruptedNote) +
        (rerun ? fmt::format("the process running it stopped; trial {} re-runs its parameters", *rerun)
               : fmt::format("the process running it stopped; not re-run (at most {} re-runs of the same parameters)",
                             max_reruns));
    write_attr(db_, path_, kTrialUserAttrs, trial_id, kNoteAttr, note);
    interrupted.push_back({number, rerun});
  }
  transaction.commit();
  return interrupted;
}

}  // namespace whet::tune
