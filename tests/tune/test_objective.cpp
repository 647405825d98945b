// The study's objective: which evaluation's value a trial ends with, which
// metric a report holds, and what is refused before a study starts.
#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"
#include "tune/objective.h"

namespace whet::tune {
namespace {

const std::map<int64_t, double> kEvaluations = {{0, 2.0}, {10, 1.2}, {20, 1.5}};

TEST(Objective, TheLastEvaluationUnlessTheRunKeepsItsBest) {
  EXPECT_EQ(objective_value(kEvaluations, Direction::Minimize, false), 1.5);
  EXPECT_EQ(objective_value(kEvaluations, Direction::Minimize, true), 1.2);
  EXPECT_EQ(objective_value(kEvaluations, Direction::Maximize, true), 2.0);
  EXPECT_EQ(objective_value({}, Direction::Minimize, false), std::nullopt);
  const double nan = std::nan("");
  EXPECT_EQ(objective_value({{0, nan}, {5, 3.0}, {9, nan}}, Direction::Minimize, true), 3.0);
}

TEST(Objective, MetricValueOfAReport) {
  StepReport report;
  report.is_eval = true;
  EXPECT_EQ(metric_value(report, "val_loss"), std::nullopt);  // NaN: no validation data
  report.val_loss = 0.75;
  report.eval_metrics = {{"accuracy", 0.5}, {"macro_f1", 0.4}};
  EXPECT_EQ(metric_value(report, "val_loss"), 0.75);
  EXPECT_EQ(metric_value(report, "macro_f1"), 0.4);
  EXPECT_EQ(metric_value(report, "rouge_l"), std::nullopt);
}

TEST(Objective, DirectionFollowsTheMetricAndMistakesNameTheFlag) {
  TrainConfig config;
  config.val_set_size = 0.1;
  EXPECT_EQ(resolve_objective(config, std::nullopt, std::nullopt).direction, Direction::Minimize);
  EXPECT_EQ(resolve_objective(config, std::nullopt, Direction::Maximize).direction, Direction::Maximize);
  test::expect_error([&] { resolve_objective(config, std::string("macro_f1"), std::nullopt); },
                     {"[--metric] macro_f1", "no eval_task"});
  config.val_set_size = 0;
  test::expect_error([&] { resolve_objective(config, std::nullopt, std::nullopt); },
                     {"[--metric] val_loss needs validation data"});
}

TEST(Objective, AnEvalTaskMetricIsMaximisedWhenHigherIsBetter) {
  TrainConfig config;
  config.eval_task = test::source_path("examples/tickets/test.jsonl");
  EXPECT_EQ(resolve_objective(config, std::string("macro_f1"), std::nullopt).direction, Direction::Maximize);
  test::expect_error([&] { resolve_objective(config, std::string("rouge_l"), std::nullopt); },
                     {"[--metric] rouge_l is not a metric of eval_task", "macro_f1"});
}

}  // namespace
}  // namespace whet::tune
