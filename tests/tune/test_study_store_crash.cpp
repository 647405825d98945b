// A study survives its process being killed with SIGKILL: mid-transaction (the
// database file already half-written, a hot journal beside it), and at
// whatever moment a kill lands in a process running trials through StudyStore.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "sample_study.h"
#include "study_json.h"
#include "test_support.h"
#include "tune/study_store.h"

namespace whet::tune {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs `body` in a child process that ends with _exit (never returning into gtest).
template <typename Body>
pid_t fork_child(Body&& body) {
  const pid_t child = fork();
  if (child == 0) {
    int code = 1;
    try {
      body();
      code = 0;
    } catch (...) {
    }
    _exit(code);
  }
  return child;
}

// The child opens the study file as StudyStore does and, inside one
// transaction, writes a trial with more rows than its page cache holds, so
// SQLite writes pages into study.db before the commit; then it kills itself.
TEST(StudyStoreCrash, AKillMidTransactionIsRolledBackOnReopening) {
  const std::string dir = test::this_test_scratch("study_") + "/study";
  std::vector<Trial> written;
  {
    StudyStore store(dir, "s", Direction::Minimize);
    written = test::write_sample_study(store);
  }
  const std::string before = file_bytes(dir + "/study.db");
  const pid_t child = fork_child([&] {
    sqlite3* db = nullptr;
    sqlite3_open((dir + "/study.db").c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA cache_size = 10; BEGIN IMMEDIATE;"
                 "INSERT INTO trials (number, study_id, state) VALUES (7, 1, 'RUNNING');"
                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                 "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
                 "SELECT last_insert_rowid(), i, i * 0.5, 'FINITE' FROM n;",
                 nullptr, nullptr, nullptr);
    raise(SIGKILL);
  });
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_TRUE(std::filesystem::exists(dir + "/study.db-journal"));  // hot: the transaction never committed
  ASSERT_NE(file_bytes(dir + "/study.db"), before);                 // and study.db holds half of it

  StudyStore store(dir, "s", Direction::Minimize);  // rolls back, then checks every page
  EXPECT_EQ(test::trials_json(store.trials()), test::trials_json(written));
  EXPECT_FALSE(std::filesystem::exists(dir + "/study.db-journal"));
  EXPECT_EQ(file_bytes(dir + "/study.db"), before);
}

constexpr int kSteps = 5;

// What `whet tune` does, in short: recover, then run trials (queued re-runs
// first) that report kSteps values, record their run folder and complete;
// `trials` of them, or until killed.
void run_trials(const std::string& dir, int trials) {
  StudyStore store(dir, "s", Direction::Minimize);
  store.recover_interrupted(/*max_reruns=*/1000);
  const auto space = test::sample_space();
  for (int i = 0; i < trials; ++i) {
    const std::optional<Trial> waiting = store.start_waiting_trial();
    const int64_t count = int64_t(store.trials().size());
    const int64_t number = waiting ? waiting->number
                                   : store.start_trial({{"learning_rate", 1e-4 * double(count + 1)},
                                                        {"lora_r", double(4 * (count % 8 + 1))},
                                                        {"lora_dropout", 0.1 * double(count % 4)},
                                                        {"method", double(count % 5)}},
                                                       space);
    for (int step = 0; step < kSteps; ++step) store.report(number, step, 3.0 - 0.1 * step);
    store.set_trial_attr(number, "run_dir", "runs/trial-" + std::to_string(number));
    store.finish(number, TrialState::Complete, 2.5, "");
  }
}

// What must hold whenever the process died: trials numbered 0..n-1, each
// started trial with its whole parameter set, each complete one with all its
// reports, its run folder and its value, at most one left running.
void expect_consistent(const std::string& dir) {
  StudyStore store(dir, "s", Direction::Minimize);
  const std::vector<Trial> trials = store.trials();
  int running = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& trial = trials[i];
    SCOPED_TRACE(trial.number);
    EXPECT_EQ(trial.number, int64_t(i));
    EXPECT_EQ(trial.params.size(), 4u);
    EXPECT_LE(trial.intermediate.size(), size_t(kSteps));
    running += trial.state == TrialState::Running;
    if (trial.state == TrialState::Complete) {
      EXPECT_EQ(trial.value, 2.5);
      EXPECT_EQ(trial.intermediate.size(), size_t(kSteps));
      EXPECT_EQ(store.trial_attrs(trial.number).at("run_dir"), "runs/trial-" + std::to_string(trial.number));
    }
  }
  EXPECT_LE(running, 1);
}

// Kills land wherever the child happens to be (between calls, mid-commit);
// the delays only spread them, and nothing asserts on timing.
TEST(StudyStoreCrash, KilledAtAnyMomentTheStudyStaysConsistentAndResumes) {
  const std::string dir = test::this_test_scratch("study_") + "/study";
  int hot_journals = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t child = fork_child([&] { run_trials(dir, 1000); });
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + 15 * round));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    hot_journals += std::filesystem::exists(dir + "/study.db-journal");
    if (std::filesystem::exists(dir + "/study.db")) expect_consistent(dir);
  }
  // The last run is left to finish: every interrupted trial failed and was re-run with its parameters.
  const pid_t child = fork_child([&] { run_trials(dir, 2); });
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  expect_consistent(dir);
  StudyStore store(dir, "s", Direction::Minimize);
  const std::vector<Trial> trials = store.trials();
  int interrupted = 0, complete = 0;
  for (const Trial& trial : trials) {
    SCOPED_TRACE(trial.number);
    complete += trial.state == TrialState::Complete;
    if (trial.state != TrialState::Fail) continue;
    ++interrupted;
    int64_t rerun = -1;
    ASSERT_EQ(std::sscanf(trial.note.c_str(), "interrupted: the process running it stopped; trial %" SCNd64, &rerun), 1)
        << trial.note;
    ASSERT_LT(size_t(rerun), trials.size());
    EXPECT_EQ(trials[size_t(rerun)].params, trial.params);
    EXPECT_NE(trials[size_t(rerun)].state, TrialState::Running);
  }
  EXPECT_GE(complete, 2);
  std::printf("%zu trials, %d complete, %d interrupted and re-run; %d of 12 kills left a hot journal\n", trials.size(),
              complete, interrupted, hot_journals);
}

}  // namespace
}  // namespace whet::tune
