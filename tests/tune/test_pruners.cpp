// The median and successive-halving pruners on hand-made tables of
// intermediate values: each test works out by hand which trials Optuna's rule
// stops at which step, and holds the pruner to exactly that. Optuna 5.1 agrees
// on both tables in both directions (tests/python/optuna_tune_oracle.py).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "tune/median_pruner.h"
#include "tune/pruner.h"
#include "tune/successive_halving_pruner.h"

namespace whet::tune {
namespace {

struct Row {
  int64_t first_step;
  std::vector<double> values;  // at first_step, first_step + 1, ...
};

struct Outcome {
  std::map<int64_t, int64_t> stopped;  // trial -> the step it was stopped at
  std::map<int64_t, std::string> reasons;
};

// Runs the trials of `table` one after another, as a study does: each reports
// its values step by step and stops when the pruner says so, else completes
// with its last value.
Outcome run(const Pruner& pruner, const std::vector<Row>& table, Direction direction) {
  std::vector<Trial> history;
  Outcome outcome;
  for (const Row& row : table) {
    Trial trial;
    trial.number = int64_t(history.size());
    for (std::size_t i = 0; i < row.values.size() && trial.state == TrialState::Running; ++i) {
      const int64_t step = row.first_step + int64_t(i);
      trial.intermediate[step] = row.values[i];
      if (std::optional<std::string> reason = pruner.prune(trial, step, history, direction)) {
        trial.state = TrialState::Pruned;
        outcome.stopped[trial.number] = step;
        outcome.reasons[trial.number] = *reason;
      }
    }
    if (trial.state == TrialState::Running) {
      trial.state = TrialState::Complete;
      trial.value = row.values.back();
    }
    history.push_back(trial);
  }
  return outcome;
}

std::vector<Row> negated(std::vector<Row> table) {
  for (Row& row : table) {
    for (double& v : row.values) v = -v;
  }
  return table;
}

// Steps 0-3, minimised. Trials 0-4 complete (trial 3 is the worst yet, but
// fewer than n_startup_trials = 5 are complete while it runs). Their medians:
//   step 0: 1.0 1.2 1.5 2.0 3.0 -> 1.5     step 1: 0.9 1.0 1.3 1.8 2.5 -> 1.3
//   step 2: 0.8 0.9 1.1 1.6 2.0 -> 1.1     step 3: 0.7 0.8 0.9 1.4 1.5 -> 0.9
// trial 5: 1.4 <= 1.5 goes on; 1.35 > 1.3: stopped at step 1.
// trial 6: 1.6 > 1.5: stopped at step 0.
// trial 7: 1.5 is not worse than 1.5; 1.2 <= 1.3; its best 1.2 > 1.1: stopped at step 2.
// trial 8: 0.5 first, then 2.0s; its best so far stays 0.5: completes (value 2.0).
//   Pruned trials do not count; trial 8 does: the step-0 median of the six is (1.2 + 1.5) / 2 = 1.35.
// trial 9: 1.4 > 1.35: stopped at step 0 (it would have passed before trial 8).
// trial 10: NaN: stopped at step 0.
const std::vector<Row> kMedianTable = {
    {0, {1.0, 0.9, 0.8, 0.7}},   {0, {2.0, 1.8, 1.6, 1.4}},   {0, {1.5, 1.3, 1.1, 0.9}},
    {0, {3.0, 2.5, 2.0, 1.5}},   {0, {1.2, 1.0, 0.9, 0.8}},   {0, {1.4, 1.35, 1.0, 0.85}},
    {0, {1.6, 1.0, 1.0, 1.0}},   {0, {1.5, 1.2, 1.2, 1.2}},   {0, {0.5, 2.0, 2.0, 2.0}},
    {0, {1.4, 1.0, 1.0, 1.0}},   {0, {NAN, 1.0, 1.0, 1.0}},
};
const std::map<int64_t, int64_t> kMedianStops = {{5, 1}, {6, 0}, {7, 2}, {9, 0}, {10, 0}};

TEST(MedianPruner, StopsExactlyTheTrialsOptunasRuleStops) {
  const MedianPruner pruner("val_loss", {});
  const Outcome outcome = run(pruner, kMedianTable, Direction::Minimize);
  EXPECT_EQ(outcome.stopped, kMedianStops);
  EXPECT_EQ(outcome.reasons.at(7), "step 2: val_loss 1.2 (the best so far) is worse than the median 1.1 of 5 complete trials");
  EXPECT_EQ(outcome.reasons.at(9), "step 0: val_loss 1.4 (the best so far) is worse than the median 1.35 of 6 complete trials");
  EXPECT_EQ(outcome.reasons.at(10), "step 0: val_loss is NaN");
  EXPECT_EQ(run(pruner, negated(kMedianTable), Direction::Maximize).stopped, kMedianStops);
}

TEST(MedianPruner, WarmUpIntervalsAndStartUp) {
  // Three complete trials improving over steps 0-4; their medians are 4, 4, 3, 2, 2.
  std::vector<Row> table = {{0, {3, 3, 2, 1, 1}}, {0, {4, 4, 3, 2, 2}}, {0, {5, 5, 4, 3, 3}}, {0, {9, 9, 9, 9, 9}}};
  // With the default 5 start-up trials, trial 3 is never judged; with 3 it stops at once.
  EXPECT_TRUE(run(MedianPruner("loss", {}), table, Direction::Minimize).stopped.empty());
  EXPECT_EQ(run(MedianPruner("loss", {.n_startup_trials = 3}), table, Direction::Minimize).stopped,
            (std::map<int64_t, int64_t>{{3, 0}}));
  // Warm-up 2 and intervals of 2: judged at steps 2 and 4 only.
  const MedianPrunerOptions warm = {.n_startup_trials = 3, .n_warmup_steps = 2, .interval_steps = 2};
  EXPECT_EQ(run(MedianPruner("loss", warm), table, Direction::Minimize).stopped, (std::map<int64_t, int64_t>{{3, 2}}));
  // Best 3 from step 2: not worse than the median 3 there; worse than 2 at step 3, which is not judged; stopped at 4.
  table[3] = {0, {9, 9, 3, 3, 3}};
  EXPECT_EQ(run(MedianPruner("loss", warm), table, Direction::Minimize).stopped, (std::map<int64_t, int64_t>{{3, 4}}));
  EXPECT_EQ(run(MedianPruner("loss", {.n_startup_trials = 3}), table, Direction::Minimize).stopped,
            (std::map<int64_t, int64_t>{{3, 0}}));
  // n_min_trials: no complete trial reported step 5, so there is no median there and the trial goes on.
  table[3] = {0, {1, 1, 1, 1, 1, 9}};
  EXPECT_TRUE(run(MedianPruner("loss", {.n_startup_trials = 3}), table, Direction::Minimize).stopped.empty());
}

// Steps 1-4, minimised, min_resource 1 and η = 2: rungs at steps 1, 2 and 4.
// A trial at a rung goes on when it is among the best max(⌊k/2⌋, 1) of the k
// values there (its own and those of the trials that reached the rung before).
// trial 0: alone at every rung: completes.
// trial 1: step 1: 1.2 against 1.0, k = 2, best 1 -> stopped at step 1 (its later 0.1s never count).
// trial 2: step 1: {0.9, 1.0, 1.2} best 1: 0.9 goes on; step 2: {0.9, 0.8}: stopped at step 2.
// trial 3: step 1: {1.1, 1.0, 1.2, 0.9}, best 2 are 0.9 and 1.0: stopped at step 1.
// trial 4: step 1: {0.95, 1.0, 1.2, 0.9, 1.1}, best 2: 0.9, 0.95 -> on; step 2: {0.75, 0.8, 0.9} -> on;
//          step 3 is no rung; step 4: {0.45, 0.5} -> on: completes.
// trial 5: step 1: six values, best 3: 0.9, 0.92, 0.95 -> on; step 2: {0.7, 0.8, 0.9, 0.75} best 2 -> on;
//          step 4: {0.47, 0.5, 0.45}, best 1 is 0.45: stopped at step 4.
const std::vector<Row> kHalvingTable = {
    {1, {1.0, 0.8, 0.6, 0.5}},   {1, {1.2, 0.1, 0.1, 0.1}},     {1, {0.9, 0.9, 0.7, 0.6}},
    {1, {1.1, 0.7, 0.55, 0.4}},  {1, {0.95, 0.75, 0.58, 0.45}}, {1, {0.92, 0.7, 0.5, 0.47}},
};
const std::map<int64_t, int64_t> kHalvingStops = {{1, 1}, {2, 2}, {3, 1}, {5, 4}};

TEST(SuccessiveHalvingPruner, StopsExactlyTheTrialsOptunasRuleStops) {
  const SuccessiveHalvingPruner pruner("val_loss", {.min_resource = 1, .reduction_factor = 2});
  const Outcome outcome = run(pruner, kHalvingTable, Direction::Minimize);
  EXPECT_EQ(outcome.stopped, kHalvingStops);
  EXPECT_EQ(outcome.reasons.at(5),
            "step 4: val_loss 0.47 is not among the best 1 of the 3 trials at rung 2 (step 4); the cut is 0.45");
  EXPECT_EQ(run(pruner, negated(kHalvingTable), Direction::Maximize).stopped, kHalvingStops);
}

TEST(SuccessiveHalvingPruner, RungsFromTheEarlyStoppingRateAndAutoResource) {
  // min_early_stopping_rate 1 moves the rungs to steps 2 and 4: trials 1 and 3 now pass step 1.
  // trial 0: alone at both rungs: completes.
  // trial 1: step 2: {0.1, 0.8} -> on; step 4: {0.1, 0.5} -> on.
  // trial 2: step 2: {0.9, 0.8, 0.1}, best 1: stopped at step 2.
  // trial 3: step 2: {0.7, 0.8, 0.1, 0.9}, best 2 are 0.1, 0.7 -> on; step 4: {0.4, 0.5, 0.1}: stopped.
  // trial 4: step 2: {0.75, 0.8, 0.1, 0.9, 0.7}, best 2 are 0.1, 0.7: stopped at step 2.
  // trial 5: step 2: {0.7, 0.8, 0.1, 0.9, 0.7, 0.75}, best 3 are 0.1, 0.7, 0.7 -> on;
  //          step 4: {0.47, 0.5, 0.1, 0.4}, best 2 are 0.1, 0.4: stopped at step 4.
  const SuccessiveHalvingPruner later("loss", {.min_resource = 1, .reduction_factor = 2, .min_early_stopping_rate = 1});
  EXPECT_EQ(run(later, kHalvingTable, Direction::Minimize).stopped,
            (std::map<int64_t, int64_t>{{2, 2}, {3, 4}, {4, 2}, {5, 4}}));
  // min_resource auto: nothing is judged until trial 0 completes; then its last step 4 / 100 -> 1, so
  // the rungs are at 1, 2 and 4 again, but trial 0 was never judged and holds no rung values (Optuna's record):
  // trial 1: alone at every rung: completes.
  // trial 2: step 1: {0.9, 1.2} -> on; step 2: {0.9, 0.1}: stopped at step 2.
  // trial 3: step 1: {1.1, 1.2, 0.9}, best 1: stopped at step 1.
  // trial 4: step 1: {0.95, 1.2, 0.9, 1.1}, best 2 -> on; step 2: {0.75, 0.1, 0.9}: stopped at step 2.
  // trial 5: step 1: best 2 of {0.92, 1.2, 0.9, 1.1, 0.95} -> on; step 2: best 2 of {0.7, 0.1, 0.9, 0.75} -> on;
  //          step 4: {0.47, 0.1}: stopped at step 4.
  const SuccessiveHalvingPruner automatic("loss", {.reduction_factor = 2});
  EXPECT_EQ(run(automatic, kHalvingTable, Direction::Minimize).stopped,
            (std::map<int64_t, int64_t>{{2, 2}, {3, 1}, {4, 2}, {5, 4}}));
}

TEST(Pruners, MadeByName) {
  EXPECT_EQ(make_pruner(PrunerKind::None, "loss"), nullptr);
  EXPECT_NE(dynamic_cast<MedianPruner*>(make_pruner(PrunerKind::Median, "loss").get()), nullptr);
  EXPECT_NE(dynamic_cast<SuccessiveHalvingPruner*>(make_pruner(PrunerKind::SuccessiveHalving, "loss").get()), nullptr);
}

}  // namespace
}  // namespace whet::tune
