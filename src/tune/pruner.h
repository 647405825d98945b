#pragma once
// What stops a trial early (docs/tune.md, "Pruners"): after a trial reports
// its objective at a step, a pruner compares it with the other trials and
// says why the trial should stop, or nothing. Like the samplers, a pruner is
// a pure function of the trials, so a resumed study prunes alike.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tune/trial.h"

namespace whet::tune {

class Pruner {
 public:
  virtual ~Pruner() = default;

  // `trial` has just reported its value at `step` (trial.intermediate holds it
  // and no later step). `history` is the study's other trials, in any state.
  // Returns the reason to stop, for the trial's note ("step 40: val_loss
  // 1.93 (the best so far) is worse than the median 1.71 of 6 complete
  // trials"), or nullopt to go on.
  virtual std::optional<std::string> prune(const Trial& trial, int64_t step, std::span<const Trial> history,
                                           Direction direction) const = 0;
};

// Optuna's MedianPruner defaults.
struct MedianPrunerOptions {
  int n_startup_trials = 5;    // no pruning until this many trials are complete
  int64_t n_warmup_steps = 0;  // nor before this step of the trial
  int64_t interval_steps = 1;  // judge at the first report of each interval after the warm-up
  int n_min_trials = 1;        // complete trials that reported the step, needed for a median
};

// Optuna's SuccessiveHalvingPruner defaults (Asynchronous Successive Halving).
struct SuccessiveHalvingOptions {
  int64_t min_resource = 0;  // the first rung's step; 0: auto, the longest complete trial's last step / 100 (at least 1)
  int reduction_factor = 4;  // η: a rung keeps its best 1/η; rung r is at min_resource·η^(rate + r)
  int min_early_stopping_rate = 0;
  int bootstrap_count = 0;   // trials a rung needs (besides this one) before it can promote anyone
};

enum class PrunerKind { None, Median, SuccessiveHalving };
inline constexpr std::array<std::string_view, 3> kPrunerNames = {"none", "median", "successive_halving"};

// `metric` names the objective in the reasons ("val_loss"). None: nullptr, nothing is pruned.
std::unique_ptr<Pruner> make_pruner(PrunerKind kind, std::string metric, const MedianPrunerOptions& median = {},
                                    const SuccessiveHalvingOptions& halving = {});

}  // namespace whet::tune
