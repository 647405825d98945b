#pragma once
// How long a run has left, from the measured time of the steps it has taken:
// their mean, not the last step's, so one slow or fast step does not swing it.
// Steps of the first epoch measured (the run's, or a resumed run's first) are
// left out once a later epoch has steps of its own: a classification head on a
// frozen base computes the base's features in that epoch and reuses them after,
// so it is no guide to the rest (until a later epoch has run, it is all there is).
#include <cstdint>

namespace whet {

class RemainingTime {
 public:
  void add_step(int64_t epoch, double seconds);
  // Seconds for `steps` more steps; 0 before any step was measured.
  double seconds_for(int64_t steps) const;
  bool measured_a_later_epoch() const { return later_steps_ > 0; }

 private:
  int64_t first_epoch_ = -1;  // of the first step added
  double first_epoch_seconds_ = 0, later_seconds_ = 0;
  int64_t first_epoch_steps_ = 0, later_steps_ = 0;
};

}  // namespace whet
