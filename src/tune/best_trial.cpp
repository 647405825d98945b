#include "tune/best_trial.h"

namespace whet::tune {

std::optional<Trial> best_trial(const std::vector<Trial>& trials, Direction direction) {
  const Trial* best = nullptr;
  for (const Trial& trial : trials) {
    if (trial.state != TrialState::Complete || !trial.value) continue;
    const bool better =
        !best || (direction == Direction::Minimize ? *trial.value < *best->value : *trial.value > *best->value);
    if (better || (*trial.value == *best->value && trial.number < best->number)) best = &trial;
  }
  if (!best) return std::nullopt;
  return *best;
}

}  // namespace whet::tune
