// Optuna from PyPI (in the test virtualenv) and Whet read each other's study
// databases: tests/python/check_optuna_study.py opens a Whet study with
// optuna.load_study and compares every field with what Whet wrote; a study
// made by Optuna (tests/python/make_optuna_study.py) reads in Whet as Optuna
// reads it, and after Whet has gone on with it, Optuna still reads it all.
#include <sqlite3.h>

#include <fstream>

#include "cli/run_whet.h"
#include "optuna_check.h"
#include "sample_study.h"
#include "study_json.h"
#include "test_support.h"
#include "tune/distribution_json.h"
#include "tune/python_json.h"
#include "tune/study_store.h"

namespace whet::tune {
namespace {

using test::expect_optuna_reads;
using test::mark_reruns;

// Every distribution_json Optuna wrote, read and written again by Whet, is the same text.
void expect_distribution_text_round_trips(const std::string& db_path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* row = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT DISTINCT distribution_json FROM trial_params", -1, &row, nullptr),
            SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(row) == SQLITE_ROW) {
    const std::string text = reinterpret_cast<const char*>(sqlite3_column_text(row, 0));
    EXPECT_EQ(python_json(distribution_to_json(distribution_from_json(nlohmann::json::parse(text), "test"))), text);
    ++rows;
  }
  sqlite3_finalize(row);
  sqlite3_close(db);
  EXPECT_GE(rows, 4);
}

TEST(StudyOptuna, OptunaReadsEveryFieldOfAWhetStudy) {
  WHET_REQUIRE_OPTUNA();
  const std::string dir = test::this_test_scratch("study_");
  StudyStore store(dir, "tickets", Direction::Minimize);
  test::write_sample_study(store);
  store.set_study_attr("objective", "eval_loss");
  store.set_study_attr("space", {{"method", {{"type", "categorical"}, {"choices", {"lora", "full"}}}}});
  // Trial 6 was left running: recovery fails it and queues trial 7, waiting.
  const std::vector<InterruptedTrial> interrupted = store.recover_interrupted(1);
  nlohmann::json expected = test::study_json(store, "tickets");
  mark_reruns(expected, interrupted);
  ASSERT_EQ(expected["trials"].size(), 8u);
  EXPECT_EQ(expected["best_trial"], 4);
  expect_optuna_reads(dir, expected);
}

TEST(StudyOptuna, WhetReadsAndContinuesAStudyOptunaMade) {
  WHET_REQUIRE_OPTUNA();
  const std::string dir = test::this_test_scratch("study_");
  const test::RunResult made =
      test::run_whet_command(test::test_python() + " " + test::source_path("tests/python/make_optuna_study.py") + " " +
                             dir + "/study.db " + dir + "/optuna.json");
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const nlohmann::json optuna_read = nlohmann::json::parse(std::ifstream(dir + "/optuna.json"));
  expect_distribution_text_round_trips(dir + "/study.db");

  const std::string name = optuna_read["study_name"].get<std::string>();
  StudyStore store(dir, name, Direction::Maximize);
  EXPECT_EQ(test::study_json(store, name), optuna_read);

  // Whet goes on: the trial Optuna left running is re-run, and one more trial is added.
  const std::vector<InterruptedTrial> interrupted = store.recover_interrupted(1);
  ASSERT_EQ(interrupted.size(), 1u);
  const std::optional<Trial> rerun = store.start_waiting_trial();
  ASSERT_TRUE(rerun.has_value());
  store.report(rerun->number, 0, 0.5);
  store.finish(rerun->number, TrialState::Complete, 4.0, "");
  const Trial first = store.trials().at(0);
  const int64_t added = store.start_trial(first.params, first.distributions);
  store.set_trial_attr(added, "run_dir", "runs/whet");
  store.finish(added, TrialState::Pruned, std::nullopt, "pruned by Whet");
  nlohmann::json expected = test::study_json(store, name);
  mark_reruns(expected, interrupted);
  EXPECT_EQ(expected["best_trial"], rerun->number);
  expect_optuna_reads(dir, expected);
}

}  // namespace
}  // namespace whet::tune
