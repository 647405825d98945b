// The formulas are transformers' lr lambdas term for term, the same operations in double,
// so the edge cases (step 0, total_steps == warmup_steps, steps past the end) come out as
// they do there, to an ulp or two.
#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace whet {

double lr_at(const LrSchedule& schedule, double base_lr, int64_t step, int64_t total_steps) {
  WHET_ASSERT(step >= 0 && schedule.warmup_steps >= 0);
  const int64_t warmup = schedule.warmup_steps;
  if (step < warmup) return base_lr * (double(step) / double(std::max<int64_t>(1, warmup)));
  const double decay_steps = double(std::max<int64_t>(1, total_steps - warmup));
  switch (schedule.kind) {
    case LrScheduler::Constant:
      return base_lr;
    case LrScheduler::Linear:
      return base_lr * std::max(0.0, double(total_steps - step) / decay_steps);
    case LrScheduler::Cosine: {
      if (base_lr == 0.0) return 0.0;  // transformers divides by it below (and raises when it is 0)
      const double progress = double(step - warmup) / decay_steps;
      const double min_lr_rate = schedule.min_lr / base_lr;
      // transformers writes pi * num_cycles * 2 * progress with num_cycles 0.5: exactly pi * progress.
      const double factor = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
      return base_lr * std::max(0.0, factor * (1.0 - min_lr_rate) + min_lr_rate);
    }
  }
  WHET_ASSERT(false);
  return 0.0;
}

}  // namespace whet
