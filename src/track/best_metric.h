#pragma once
// Which of a run's metrics it is judged by, the "best" of `whet runs list` and
// the dashboard's runs list: the run config's metric_for_best_model (val_loss,
// or a metric of eval_task, which metrics.jsonl holds as eval_<metric>), better
// higher when greater_is_better says so (a config from elsewhere may set it),
// else as the metric's kind has it. A run whose config names none is judged by
// val_loss when it has one, else by its first eval_ metric.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace whet::track {

// Which metrics are better lower (losses, perplexities) or higher (eval_task's); none for the rest.
std::optional<bool> lower_is_better(const std::string& name);

struct BestMetric {
  std::string name;  // as metrics.jsonl names it
  bool greater_is_better = false;
  bool from_config = false;  // named by metric_for_best_model
};

// From a run's flat params and its best values by metric (each in its kind's direction).
std::optional<BestMetric> best_metric_of(const nlohmann::json& params, const nlohmann::json& best);

}  // namespace whet::track
