#pragma once
// Optuna's SuccessiveHalvingPruner, Asynchronous Successive Halving (Li et
// al. 2018): rung r sits at step min_resource·η^(min_early_stopping_rate + r).
// When a trial's report reaches a rung's step, its value there joins those of
// the other trials that reached the rung, and the trial goes on only if it is
// among the best ⌊k/η⌋ of those k values (the best one while k < η);
// otherwise it stops. A NaN value stops it.
//
// Optuna writes each trial's value at each rung into the study; here it is
// read back from the trials' reports: a trial's value at a rung is its first
// report at or after the rung's step. The two agree whenever no single report
// jumps over two rungs' steps (reports at every step, or at steps that land on
// every rung). With min_resource auto (estimated once a trial completes, so
// that trial and those before it were never judged and hold no rung values),
// Optuna keeps its first estimate; here it follows the complete trials: the
// same when they all run equally long.
#include "tune/pruner.h"

namespace whet::tune {

class SuccessiveHalvingPruner final : public Pruner {
 public:
  SuccessiveHalvingPruner(std::string metric, const SuccessiveHalvingOptions& options)
      : metric_(std::move(metric)), options_(options) {}
  std::optional<std::string> prune(const Trial& trial, int64_t step, std::span<const Trial> history,
                                   Direction direction) const override;

 private:
  std::string metric_;
  SuccessiveHalvingOptions options_;
};

}  // namespace whet::tune
