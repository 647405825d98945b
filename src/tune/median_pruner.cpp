#include "tune/median_pruner.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace whet::tune {
namespace {

// Whether `step` is the trial's first report in its interval (counted from the warm-up's end).
bool first_in_interval(int64_t step, const Trial& trial, const MedianPrunerOptions& o) {
  const int64_t interval_start = (step - o.n_warmup_steps) / o.interval_steps * o.interval_steps + o.n_warmup_steps;
  int64_t previous = -1;
  for (const auto& [s, value] : trial.intermediate) {
    if (s != step) previous = std::max(previous, s);
  }
  return previous < interval_start;
}

// The best of the trial's values so far, NaNs aside (NaN when all are).
double best_so_far(const Trial& trial, Direction direction) {
  double best = NAN;
  for (const auto& [step, value] : trial.intermediate) {
    if (std::isnan(value)) continue;
    if (std::isnan(best) || (direction == Direction::Minimize ? value < best : value > best)) best = value;
  }
  return best;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

std::optional<std::string> MedianPruner::prune(const Trial& trial, int64_t step, std::span<const Trial> history,
                                               Direction direction) const {
  WHET_ASSERT(trial.intermediate.count(step) == 1);
  std::size_t complete = 0;
  std::size_t reported = 0;  // complete trials with a value at `step`, NaN or not
  std::vector<double> at_step;
  for (const Trial& t : history) {
    if (t.state != TrialState::Complete || t.number == trial.number) continue;
    ++complete;
    const auto it = t.intermediate.find(step);
    if (it == t.intermediate.end()) continue;
    ++reported;
    if (!std::isnan(it->second)) at_step.push_back(it->second);
  }
  if (complete == 0 || complete < std::size_t(options_.n_startup_trials)) return std::nullopt;
  if (step < options_.n_warmup_steps || !first_in_interval(step, trial, options_)) return std::nullopt;
  const double best = best_so_far(trial, direction);
  if (std::isnan(best)) return fmt::format("step {}: {} is NaN", step, metric_);
  if (reported < std::size_t(options_.n_min_trials) || at_step.empty()) return std::nullopt;
  const double middle = median(at_step);
  if (direction == Direction::Minimize ? best <= middle : best >= middle) return std::nullopt;
  return fmt::format("step {}: {} {:.4g} (the best so far) is worse than the median {:.4g} of {} complete trials",
                     step, metric_, best, middle, at_step.size());
}

}  // namespace whet::tune
