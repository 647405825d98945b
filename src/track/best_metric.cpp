#include "track/best_metric.h"

namespace whet::track {

using nlohmann::json;

std::optional<bool> lower_is_better(const std::string& name) {
  if (name.find("loss") != std::string::npos || name.find("perplexity") != std::string::npos) return true;
  if (name.starts_with("eval_")) return false;
  return std::nullopt;
}

std::optional<BestMetric> best_metric_of(const json& params, const json& best) {
  BestMetric chosen;
  const json configured = params.value("metric_for_best_model", json());
  if (configured.is_string() && !configured.get<std::string>().empty()) {
    const std::string metric = configured;
    chosen.name = metric == "val_loss" || metric.starts_with("eval_") ? metric : "eval_" + metric;
    chosen.from_config = true;
  } else if (best.contains("val_loss")) {
    chosen.name = "val_loss";
  } else {
    for (const auto& [name, value] : best.items())
      if (name.starts_with("eval_")) {
        chosen.name = name;
        break;
      }
    if (chosen.name.empty()) return std::nullopt;
  }
  const json greater = params.value("greater_is_better", json());
  chosen.greater_is_better = greater.is_boolean() ? greater.get<bool>() : !lower_is_better(chosen.name).value_or(true);
  return chosen;
}

}  // namespace whet::track
