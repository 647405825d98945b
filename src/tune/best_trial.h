#pragma once
// The study's best trial, as Optuna's Study.best_trial picks it: among the
// COMPLETE trials, the lowest value when minimising, the highest when
// maximising (infinities compare as such); the earliest trial on a tie.
#include <optional>
#include <vector>

#include "tune/trial.h"

namespace whet::tune {

// None while no trial is complete.
std::optional<Trial> best_trial(const std::vector<Trial>& trials, Direction direction);

}  // namespace whet::tune
