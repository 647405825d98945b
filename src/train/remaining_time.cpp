#include "train/remaining_time.h"

namespace whet {

void RemainingTime::add_step(int64_t epoch, double seconds) {
  if (first_epoch_ < 0) first_epoch_ = epoch;
  if (epoch == first_epoch_) {
    first_epoch_seconds_ += seconds;
    ++first_epoch_steps_;
  } else {
    later_seconds_ += seconds;
    ++later_steps_;
  }
}

double RemainingTime::seconds_for(int64_t steps) const {
  if (later_steps_ > 0) return later_seconds_ / double(later_steps_) * double(steps);
  if (first_epoch_steps_ > 0) return first_epoch_seconds_ / double(first_epoch_steps_) * double(steps);
  return 0;
}

}  // namespace whet
