// StudyStore: what it writes reads back, field by field and state by state;
// what it refuses to open; trials a stopped process left running; a process
// killed mid-transaction.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sample_study.h"
#include "study_json.h"
#include "test_support.h"
#include "tune/study_store.h"

namespace whet::tune {
namespace {

using test::sample_space;
using test::trials_json;

std::string study_dir() { return test::this_test_scratch("study_") + "/study"; }

// A statement on the study file, bypassing StudyStore (to damage or inspect it).
void sql(const std::string& dir, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/study.db").c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

std::string sql_text(const std::string& dir, const std::string& query) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir + "/study.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string text;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
    text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return text;
}

TEST(StudyStore, EveryFieldAndStateReadsBackAfterReopening) {
  const std::string dir = study_dir();
  std::vector<Trial> written;
  {
    StudyStore store(dir, "tickets", Direction::Minimize);
    written = test::write_sample_study(store);
    store.set_study_attr("objective", "eval_loss");
    store.set_study_attr("space", {{"learning_rate", {{"type", "float"}, {"log", true}}}});
    EXPECT_EQ(trials_json(store.trials()), trials_json(written));
  }
  StudyStore store(dir, "tickets", Direction::Minimize);
  EXPECT_EQ(trials_json(store.trials()), trials_json(written));
  EXPECT_EQ(store.study_attrs().at("objective"), "eval_loss");
  EXPECT_EQ(store.study_attrs().at("space")["learning_rate"]["log"], true);
  const auto attrs = store.trial_attrs(0);
  EXPECT_EQ(attrs.at("run_dir"), "runs/trial-0");
  EXPECT_EQ(attrs.at("config")["output"], "runs/café");
  EXPECT_EQ(attrs.at("config")["lora_r"], 16);
  EXPECT_FALSE(attrs.contains(StudyStore::kNoteAttr));
  EXPECT_EQ(store.trial_attrs(3).at(StudyStore::kNoteAttr), "training diverged at step 3");
  EXPECT_EQ(best_trial(store.trials(), store.direction())->number, 4);
}

// The columns hold Optuna's forms: enum names, value types, categorical indexes,
// distribution_json and attribute values as Python's json.dumps writes them.
TEST(StudyStore, ColumnsHoldOptunasForms) {
  const std::string dir = study_dir();
  {
    StudyStore store(dir, "tickets", Direction::Maximize);
    test::write_sample_study(store);
  }
  EXPECT_EQ(sql_text(dir, "SELECT direction FROM study_directions"), "MAXIMIZE");
  EXPECT_EQ(sql_text(dir, "SELECT group_concat(state, ',') FROM (SELECT state FROM trials ORDER BY number)"),
            "COMPLETE,PRUNED,PRUNED,FAIL,COMPLETE,FAIL,RUNNING");
  EXPECT_EQ(sql_text(dir, "SELECT distribution_json FROM trial_params WHERE param_name = 'learning_rate' LIMIT 1"),
            R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.01, "log": true}})");
  EXPECT_EQ(sql_text(dir, "SELECT distribution_json FROM trial_params WHERE param_name = 'lora_r' LIMIT 1"),
            R"({"name": "IntDistribution", "attributes": {"log": false, "step": 4, "low": 4, "high": 32}})");
  EXPECT_EQ(sql_text(dir, "SELECT distribution_json FROM trial_params WHERE param_name = 'method' LIMIT 1"),
            R"({"name": "CategoricalDistribution", "attributes": {"choices": ["lora", "full", null, 3, true]}})");
  EXPECT_EQ(sql_text(dir,
                     "SELECT param_value FROM trial_params p JOIN trials t USING (trial_id) "
                     "WHERE t.number = 2 AND param_name = 'method'"),
            "4.0");
  EXPECT_EQ(sql_text(dir, "SELECT value_json FROM trial_user_attributes WHERE \"key\" = 'config'"),
            R"({"learning_rate": 0.001, "lora_r": 16, "output": "runs/caf\u00e9"})");
  EXPECT_EQ(sql_text(dir,
                     "SELECT group_concat(intermediate_value_type, ',') FROM (SELECT intermediate_value_type "
                     "FROM trial_intermediate_values ORDER BY trial_id, step)"),
            "FINITE,FINITE,FINITE,FINITE,NAN,INF_POS,FINITE,INF_NEG,FINITE");
  EXPECT_EQ(sql_text(dir, "SELECT count(*) FROM trials WHERE datetime_start IS NULL"), "0");
  EXPECT_EQ(sql_text(dir, "SELECT count(*) FROM trials WHERE datetime_complete IS NULL"), "1");  // the running one
  EXPECT_EQ(sql_text(dir, "SELECT version_num FROM alembic_version"), "v3.2.0.a");
  EXPECT_EQ(sql_text(dir, "SELECT schema_version || ' ' || library_version FROM version_info"), "12 4.9.0");
}

TEST(StudyStore, OnlyARunningTrialChanges) {
  StudyStore store(study_dir(), "s", Direction::Minimize);
  test::write_sample_study(store);
  test::expect_error([&] { store.report(0, 5, 1.0); }, {"report: trial 0 is COMPLETE; only a running trial"});
  test::expect_error([&] { store.set_trial_attr(3, "k", 1); }, {"trial 3 is FAIL"});
  test::expect_error([&] { store.finish(1, TrialState::Complete, 1.0, ""); }, {"trial 1 is PRUNED"});
  test::expect_error([&] { store.report(99, 0, 1.0); }, {"no trial 99"});
  test::expect_error([&] { store.finish(6, TrialState::Complete, std::nullopt, ""); }, {"needs its value"});
  test::expect_error([&] { store.finish(6, TrialState::Fail, 1.0, ""); }, {"a FAIL trial takes no value"});
  test::expect_error([&] { store.finish(6, TrialState::Waiting, std::nullopt, ""); }, {"not a final state"});
  test::expect_error([&] { store.start_trial({{"lora_r", 8}}, {}); }, {"parameter 'lora_r' has no distribution"});
  EXPECT_EQ(store.trials().size(), 7u);  // the refused calls wrote nothing
  EXPECT_EQ(store.trials()[6].state, TrialState::Running);
}

TEST(StudyStore, RefusesAnotherDirectionNameOrProcess) {
  const std::string dir = study_dir();
  {
    StudyStore store(dir, "tickets", Direction::Minimize);
    test::expect_error([&] { StudyStore second(dir, "tickets", Direction::Minimize); },
                       {"another whet tune is using this folder"});
  }
  test::expect_error([&] { StudyStore store(dir, "tickets", Direction::Maximize); },
                     {"study.db", "study 'tickets' is to MINIMIZE, not to MAXIMIZE"});
  test::expect_error([&] { StudyStore store(dir, "other", Direction::Minimize); },
                     {"holds the study 'tickets', not 'other'"});
  sql(dir, "INSERT INTO study_directions (direction, study_id, objective) VALUES ('MINIMIZE', 1, 1)");
  test::expect_error([&] { StudyStore store(dir, "tickets", Direction::Minimize); }, {"has 2 objectives"});
}

TEST(StudyStore, RefusesFilesThatAreNotAStudyAtItsRevision) {
  const std::string dir = study_dir();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/study.db") << "not a database, but long enough to have a header of sorts....................";
  test::expect_error([&] { StudyStore store(dir, "s", Direction::Minimize); }, {"study.db] open:", "not a database"});

  std::filesystem::remove(dir + "/study.db");
  sql(dir, "CREATE TABLE jobs (id TEXT)");
  test::expect_error([&] { StudyStore store(dir, "s", Direction::Minimize); }, {"not an Optuna study database"});

  std::filesystem::remove(dir + "/study.db");
  { StudyStore store(dir, "s", Direction::Minimize); }
  sql(dir, "UPDATE alembic_version SET version_num = 'v5.0.0.a'");
  test::expect_error([&] { StudyStore store(dir, "s", Direction::Minimize); },
                     {"schema revision v5.0.0.a, newer than (or unknown to) this Whet", "v3.2.0.a"});
  sql(dir, "UPDATE alembic_version SET version_num = 'v3.0.0.d'");
  test::expect_error([&] { StudyStore store(dir, "s", Direction::Minimize); },
                     {"older schema (revision v3.0.0.d)", "optuna storage upgrade"});
}

TEST(StudyStore, ReadingACorruptedRowNamesItsTrialAndParameter) {
  const std::string dir = study_dir();
  {
    StudyStore store(dir, "s", Direction::Minimize);
    test::write_sample_study(store);
  }
  sql(dir, "UPDATE trial_params SET param_value = 7 WHERE param_name = 'method' AND trial_id = 1");
  StudyStore store(dir, "s", Direction::Minimize);
  test::expect_error([&] { store.trials(); }, {"trial 0 parameter 'method'", "not the index of one of its 5 choices"});
}

// A process that stopped mid-trial (here: its store closed with trial 1
// running) leaves the trial RUNNING; recovering fails it and queues its
// parameters as a new trial, at most max_reruns times over.
TEST(StudyStore, InterruptedTrialsFailAndTheirParametersRunAgain) {
  const std::string dir = study_dir();
  const auto space = sample_space();
  const std::map<std::string, double> params = {
      {"learning_rate", 1e-3}, {"lora_r", 8}, {"lora_dropout", 0.2}, {"method", 1}};
  {
    StudyStore store(dir, "s", Direction::Minimize);
    store.start_trial(params, space);
    store.finish(0, TrialState::Complete, 2.0, "");
    store.start_trial(params, space);
    store.report(1, 0, 2.5);
  }
  StudyStore store(dir, "s", Direction::Minimize);
  EXPECT_EQ(store.recover_interrupted(/*max_reruns=*/2), (std::vector<InterruptedTrial>{{1, 2}}));
  std::vector<Trial> trials = store.trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::Complete);  // finished trials are kept as they were
  EXPECT_EQ(trials[1].state, TrialState::Fail);
  EXPECT_EQ(trials[1].note, "interrupted: the process running it stopped; trial 2 re-runs its parameters");
  EXPECT_EQ(trials[1].intermediate, (std::map<int64_t, double>{{0, 2.5}}));
  EXPECT_EQ(trials[2].state, TrialState::Waiting);
  EXPECT_EQ(trials[2].params, params);
  EXPECT_EQ(trials[2].distributions, space);
  EXPECT_TRUE(trials[2].intermediate.empty());
  EXPECT_EQ(sql_text(dir, "SELECT datetime_start FROM trials WHERE number = 2"), "");
  // Optuna's RetryFailedTrialCallback attributes: the first failed trial, the failed runs so far.
  EXPECT_EQ(sql_text(dir,
                     "SELECT group_concat(\"key\" || '=' || value_json, ' ') FROM trial_system_attributes a "
                     "JOIN trials t USING (trial_id) WHERE t.number = 2"),
            "failed_trial=1 retry_history=[1]");
  EXPECT_TRUE(store.recover_interrupted(2).empty());  // a waiting trial is not interrupted

  const std::optional<Trial> rerun = store.start_waiting_trial();
  ASSERT_TRUE(rerun.has_value());
  EXPECT_EQ(rerun->number, 2);
  EXPECT_EQ(rerun->state, TrialState::Running);
  EXPECT_EQ(rerun->params, params);
  EXPECT_FALSE(store.start_waiting_trial().has_value());
  // Interrupted again, and again: the second re-run is the last.
  EXPECT_EQ(store.recover_interrupted(2), (std::vector<InterruptedTrial>{{2, 3}}));
  ASSERT_TRUE(store.start_waiting_trial().has_value());
  EXPECT_EQ(store.recover_interrupted(2), (std::vector<InterruptedTrial>{{3, std::nullopt}}));
  EXPECT_EQ(sql_text(dir,
                     "SELECT value_json FROM trial_system_attributes a JOIN trials t USING (trial_id) "
                     "WHERE t.number = 3 AND \"key\" = 'retry_history'"),
            "[1, 2]");
  trials = store.trials();
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(trials[3].state, TrialState::Fail);
  EXPECT_NE(trials[3].note.find("not re-run (at most 2 re-runs"), std::string::npos) << trials[3].note;
  EXPECT_EQ(store.start_trial(params, space), 4);  // numbering goes on
}

}  // namespace
}  // namespace whet::tune
