#pragma once
// Optuna's MedianPruner (its PercentilePruner at 50): once n_startup_trials
// trials are complete, a trial stops at a step when its best value so far is
// worse than the median of the complete trials' values at that same step.
// Past the warm-up it judges at the first report of every interval_steps; a
// trial whose values are all NaN stops; without n_min_trials complete trials
// that reported the step there is no median and the trial goes on.
#include "tune/pruner.h"

namespace whet::tune {

class MedianPruner final : public Pruner {
 public:
  MedianPruner(std::string metric, const MedianPrunerOptions& options) : metric_(std::move(metric)), options_(options) {}
  std::optional<std::string> prune(const Trial& trial, int64_t step, std::span<const Trial> history,
                                   Direction direction) const override;

 private:
  std::string metric_;
  MedianPrunerOptions options_;
};

}  // namespace whet::tune
