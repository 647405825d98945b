#pragma once
// A study with a trial in every state and every kind of value, written through
// StudyStore, for the tests that read it back (tests/tune/test_study_store.cpp)
// and that hand it to Optuna (tests/tune/test_study_optuna.cpp).
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tune/study_store.h"

namespace whet::test {

using tune::Direction;
using tune::Distribution;
using tune::StudyStore;
using tune::Trial;
using tune::TrialState;

inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// The space: a log-uniform float, a stepped int, a stepped float and a
// categorical of mixed choices (as Optuna allows: strings, null, numbers, booleans).
inline std::map<std::string, Distribution> sample_space() {
  using Kind = Distribution::Kind;
  return {{"learning_rate", {.kind = Kind::Float, .low = 1e-5, .high = 1e-2, .log = true}},
          {"lora_r", {.kind = Kind::Int, .low = 4, .high = 32, .step = 4}},
          {"lora_dropout", {.kind = Kind::Float, .low = 0, .high = 0.3, .step = 0.1}},
          {"method", {.kind = Kind::Categorical, .choices = {"lora", "full", nullptr, 3, true}}}};
}

// A trial of `space` limited to the parameters in `params` (a conditional space
// samples some only).
inline Trial sample_trial(int64_t number, TrialState state, std::map<std::string, double> params) {
  Trial trial{.number = number, .state = state, .params = std::move(params)};
  const auto space = sample_space();
  for (const auto& [name, value] : trial.params) trial.distributions[name] = space.at(name);
  return trial;
}

// Writes the sample study's trials and returns them as StudyStore should read them back:
//  0 complete (1.5, after three reports); 1 pruned at a NaN report (no value);
//  2 pruned after an infinite report (keeps its last value, 2.8); 3 failed with a
//  note; 4 complete and best (1.2, the mean of two folds); 5 "complete" with NaN, recorded as failed;
//  6 still running, with the two parameters of its conditional branch.
inline std::vector<Trial> write_sample_study(StudyStore& store) {
  std::vector<Trial> trials;
  trials.reserve(7);  // the references below stay valid
  auto start = [&](TrialState final_state, std::map<std::string, double> params) -> Trial& {
    trials.push_back(sample_trial(int64_t(trials.size()), final_state, std::move(params)));
    EXPECT_EQ(store.start_trial(trials.back().params, trials.back().distributions), trials.back().number);
    return trials.back();
  };
  auto report = [&](Trial& trial, int64_t step, double value) {
    store.report(trial.number, step, value);
    trial.intermediate[step] = value;
  };
  const std::map<std::string, double> all = {
      {"learning_rate", 1e-3}, {"lora_r", 16}, {"lora_dropout", 0.1}, {"method", 0}};

  Trial& t0 = start(TrialState::Complete, all);
  for (int64_t step : {0, 1, 2}) report(t0, step, 2.5 - 0.5 * double(step));
  store.set_trial_attr(0, "config", {{"learning_rate", 1e-3}, {"lora_r", 16}, {"output", "runs/café"}});
  store.set_trial_attr(0, "run_dir", "runs/trial-0");
  EXPECT_EQ(store.finish(0, TrialState::Complete, 1.5, ""), TrialState::Complete);
  t0.value = 1.5;

  Trial& t1 = start(TrialState::Pruned, {{"learning_rate", 3e-5}, {"lora_r", 4}, {"lora_dropout", 0.0}, {"method", 2}});
  report(t1, 0, 3.0);
  report(t1, 1, kNan);
  t1.note = "pruned at step 1: NaN is worse than the median 2.0";
  EXPECT_EQ(store.finish(1, TrialState::Pruned, std::nullopt, t1.note), TrialState::Pruned);

  Trial& t2 =
      start(TrialState::Pruned, {{"learning_rate", 5e-3}, {"lora_r", 32}, {"lora_dropout", 0.3}, {"method", 4}});
  report(t2, 0, kInf);
  report(t2, 1, 2.9);
  report(t2, 1, 2.8);  // a step reported again replaces its value
  t2.intermediate[1] = 2.8;
  t2.value = 2.8;
  t2.note = "pruned at step 1";
  EXPECT_EQ(store.finish(2, TrialState::Pruned, std::nullopt, t2.note), TrialState::Pruned);

  Trial& t3 = start(TrialState::Fail, {{"learning_rate", 1e-2}, {"lora_r", 8}, {"lora_dropout", 0.2}, {"method", 3}});
  report(t3, 0, -kInf);
  t3.note = "training diverged at step 3";
  EXPECT_EQ(store.finish(3, TrialState::Fail, std::nullopt, t3.note), TrialState::Fail);

  Trial& t4 =
      start(TrialState::Complete, {{"learning_rate", 2e-4}, {"lora_r", 12}, {"lora_dropout", 0.0}, {"method", 0}});
  // Cross-validated over two folds, as a study with --folds 2 records it (tune/trial_run.cpp).
  t4.fold_values = {1.0, 1.4};
  store.set_trial_attr(4, StudyStore::kFoldValuesAttr, t4.fold_values);
  store.set_trial_attr(4, StudyStore::kFoldStdAttr, 0.28284271247461906);
  EXPECT_EQ(store.finish(4, TrialState::Complete, 1.2, "best so far"), TrialState::Complete);
  t4.value = 1.2;
  t4.note = "best so far";

  Trial& t5 = start(TrialState::Fail, {{"learning_rate", 1e-4}, {"lora_r", 20}, {"lora_dropout", 0.1}, {"method", 1}});
  EXPECT_EQ(store.finish(5, TrialState::Complete, kNan, ""), TrialState::Fail);
  t5.note = "its objective value was NaN";

  Trial& t6 = start(TrialState::Running, {{"learning_rate", 7e-4}, {"method", 1}});
  report(t6, 0, 2.2);
  return trials;
}

}  // namespace whet::test
