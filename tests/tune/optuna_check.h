#pragma once
// Hands a Whet study.db to Optuna from PyPI (in the test virtualenv):
// tests/python/check_optuna_study.py opens it with optuna.load_study and
// compares every field with what Whet wrote (tests/tune/study_json.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/run_whet.h"
#include "study_json.h"
#include "test_support.h"
#include "tune/study_store.h"

// Skips the test (fails it under CI) when the test virtualenv has no optuna.
#define WHET_REQUIRE_OPTUNA()                                                                      \
  WHET_REQUIRE(test::run_whet_command(test::test_python() + " -c 'import optuna'").exit_code == 0, \
               "optuna in " + test::test_python() + " (scripts/setup_test_venv.sh installs it) is missing")

namespace whet::test {

// Runs check_optuna_study.py on DIR/study.db against `expected` (study_json's form).
inline void expect_optuna_reads(const std::string& dir, const nlohmann::json& expected) {
  const std::string expected_path = dir + "/expected.json";
  std::ofstream(expected_path) << expected.dump(1);
  const RunResult check = run_whet_command(test_python() + " " + source_path("tests/python/check_optuna_study.py") +
                                           " " + dir + "/study.db " + expected_path);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("optuna study: ok"), std::string::npos) << check.out << check.err;
  std::printf("%s", check.out.c_str());
}

// Marks, in `expected`, the trials that recovery queued as re-runs (Optuna's
// RetryFailedTrialCallback.retried_trial_number must name the trial they re-run).
inline void mark_reruns(nlohmann::json& expected, const std::vector<tune::InterruptedTrial>& interrupted) {
  for (const tune::InterruptedTrial& trial : interrupted) {
    if (trial.rerun) expected["trials"][size_t(*trial.rerun)]["retried_from"] = trial.number;
  }
}

}  // namespace whet::test
