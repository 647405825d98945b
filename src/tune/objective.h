#pragma once
// What a study optimises (docs/tune.md, "whet tune"): one metric that each
// trial's training run reports at its evaluations, validation loss or a metric
// of the config's eval_task, and whether lower or higher is better.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "train/train_config.h"
#include "train/trainer.h"
#include "tune/trial.h"

namespace whet::tune {

struct Objective {
  std::string metric = "val_loss";
  Direction direction = Direction::Minimize;
  int folds = 0;  // the metric's mean over this many folds (tune/cross_validation.h); 0: one run's
};

// The objective of a study of `config`: `metric` (default: the config's
// metric_for_best_model) in `direction` (default: the metric's own, lower
// loss, higher macro_f1). Refused, naming --metric: val_loss without
// validation data, a metric that eval_task does not report, any other name.
Objective resolve_objective(const TrainConfig& config, const std::optional<std::string>& metric,
                            const std::optional<Direction>& direction);

// The metric's value in an evaluation report, if it has one.
std::optional<double> metric_value(const StepReport& report, const std::string& metric);

// A finished run's objective from its evaluations (step -> value): the last
// one's, or, when the run keeps its best evaluation's outputs (early stopping
// on), the best one's, so the value is that of the weights the run wrote.
// None without evaluations.
std::optional<double> objective_value(const std::map<int64_t, double>& evaluations, Direction direction,
                                      bool keeps_best);

}  // namespace whet::tune
