#include "tune/successive_halving_pruner.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace whet::tune {
namespace {

// Where the rungs are, and which trials were judged at them.
struct Rungs {
  std::vector<int64_t> steps;  // of the rungs up to the step being judged
  int64_t unjudged_up_to = -1;  // trials numbered up to this one ran before the rungs were known
};

// min_resource auto is Optuna's estimate, a hundredth of the longest complete
// trial's last step (at least 1): unknown until a trial completes, so that
// trial and the ones before it were never judged and hold no rung values.
std::optional<Rungs> rungs_until(int64_t step, std::span<const Trial> history, const SuccessiveHalvingOptions& o) {
  Rungs rungs;
  int64_t min_resource = o.min_resource;
  if (min_resource == 0) {
    int64_t longest = -1;
    for (const Trial& t : history) {
      if (t.state != TrialState::Complete || t.intermediate.empty()) continue;
      longest = std::max(longest, t.intermediate.rbegin()->first);
      if (rungs.unjudged_up_to < 0 || t.number < rungs.unjudged_up_to) rungs.unjudged_up_to = t.number;
    }
    if (longest < 0) return std::nullopt;
    min_resource = std::max<int64_t>(longest / 100, 1);
  }
  int64_t s = min_resource;
  for (int r = 0; r < o.min_early_stopping_rate; ++r) s *= o.reduction_factor;
  for (; s <= step; s *= o.reduction_factor) rungs.steps.push_back(s);
  return rungs;
}

// A trial's value at the rung whose step is `rung_step`: its first report at or after it.
std::optional<double> value_at_rung(const Trial& t, int64_t rung_step) {
  const auto it = t.intermediate.lower_bound(rung_step);
  if (it == t.intermediate.end()) return std::nullopt;
  return it->second;
}

// Rungs the trial passed at its earlier reports: those at or before its previous report's step.
std::size_t passed_rungs(const Trial& trial, int64_t step, const std::vector<int64_t>& rung_steps) {
  const auto current = trial.intermediate.find(step);
  if (current == trial.intermediate.begin()) return 0;
  return std::size_t(std::upper_bound(rung_steps.begin(), rung_steps.end(), std::prev(current)->first) -
                     rung_steps.begin());
}

}  // namespace

std::optional<std::string> SuccessiveHalvingPruner::prune(const Trial& trial, int64_t step,
                                                          std::span<const Trial> history, Direction direction) const {
  WHET_ASSERT(trial.intermediate.count(step) == 1 && trial.intermediate.rbegin()->first == step);
  const std::optional<Rungs> rungs = rungs_until(step, history, options_);
  if (!rungs) return std::nullopt;
  const double value = trial.intermediate.at(step);
  for (std::size_t rung = passed_rungs(trial, step, rungs->steps); rung < rungs->steps.size(); ++rung) {
    if (std::isnan(value)) return fmt::format("step {}: {} is NaN", step, metric_);
    std::vector<double> competing = {value};
    for (const Trial& t : history) {
      if (t.number == trial.number || t.number <= rungs->unjudged_up_to) continue;
      if (const std::optional<double> v = value_at_rung(t, rungs->steps[rung])) competing.push_back(*v);
    }
    if (competing.size() <= std::size_t(options_.bootstrap_count)) {
      return fmt::format("step {}: rung {} has {} trials, not more than bootstrap_count {}", step, rung,
                         competing.size(), options_.bootstrap_count);
    }
    const std::size_t kept = std::max<std::size_t>(competing.size() / std::size_t(options_.reduction_factor), 1);
    std::sort(competing.begin(), competing.end());
    const double cut = direction == Direction::Minimize ? competing[kept - 1] : competing[competing.size() - kept];
    if (direction == Direction::Minimize ? value > cut : value < cut) {
      return fmt::format("step {}: {} {:.4g} is not among the best {} of the {} trials at rung {} (step {}); "
                         "the cut is {:.4g}", step, metric_, value, kept, competing.size(), rung, rungs->steps[rung],
                         cut);
    }
  }
  return std::nullopt;
}

}  // namespace whet::tune
