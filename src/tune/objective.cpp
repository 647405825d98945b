// The study's objective (tune/objective.h).
#include "tune/objective.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <vector>

#include "core/error.h"
#include "eval/evaluate.h"
#include "eval/task.h"

namespace whet::tune {
namespace {

constexpr const char* kWhere = "--metric";

bool has_validation_data(const TrainConfig& config) { return !config.val_data.empty() || config.val_set_size > 0; }

// Whether `metric` of eval_task is better higher; refused when the task has no such metric.
bool task_metric_direction(const TrainConfig& config, const std::string& metric) {
  if (config.eval_task.empty())
    fail(kWhere, "{} is not reported by the runs: the config sets no eval_task (its metrics can be optimised) "
                 "and the only other metric is val_loss",
         metric);
  const Task task = read_task(config.eval_task);
  std::vector<std::string> names;
  for (const MetricSpec& spec : metrics_of(task.kind)) {
    if (spec.name == metric) return spec.higher_is_better;
    names.push_back(spec.name);
  }
  fail(kWhere, "{} is not a metric of eval_task {} ({} task; the runs report val_loss, {})", metric, config.eval_task,
       task_kind_name(task.kind), fmt::join(names, ", "));
}

}  // namespace

Objective resolve_objective(const TrainConfig& config, const std::optional<std::string>& metric,
                            const std::optional<Direction>& direction) {
  Objective objective;
  objective.metric = metric.value_or(config.metric_for_best_model);
  if (objective.metric == "val_loss") {
    if (!has_validation_data(config))
      fail(kWhere, "val_loss needs validation data, and the config sets neither val_data nor val_set_size");
    objective.direction = Direction::Minimize;
  } else {
    objective.direction = task_metric_direction(config, objective.metric) ? Direction::Maximize : Direction::Minimize;
  }
  if (direction) objective.direction = *direction;
  return objective;
}

std::optional<double> metric_value(const StepReport& report, const std::string& metric) {
  if (metric == "val_loss") return std::isnan(report.val_loss) ? std::nullopt : std::optional(report.val_loss);
  for (const auto& [name, value] : report.eval_metrics)
    if (name == metric) return value;
  return std::nullopt;
}

std::optional<double> objective_value(const std::map<int64_t, double>& evaluations, Direction direction,
                                      bool keeps_best) {
  if (evaluations.empty()) return std::nullopt;
  if (!keeps_best) return evaluations.rbegin()->second;
  std::optional<double> best;
  for (const auto& [step, value] : evaluations) {
    if (std::isnan(value)) continue;
    if (!best || (direction == Direction::Minimize ? value < *best : value > *best)) best = value;
  }
  return best ? best : evaluations.rbegin()->second;
}

}  // namespace whet::tune
