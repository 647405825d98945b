#pragma once
// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ does it: one
// norm over all gradients together, so clipping never changes the direction of a step.
#include <vector>

#include "train/parameter.h"

namespace whet {

// sqrt of the sum of squares of every gradient, accumulated in double. The sum is split
// into fixed chunks whatever the thread count, so the result is reproducible run to run.
double grad_norm(const std::vector<Parameter>& params);
double grad_norm_reference(const std::vector<Parameter>& params);  // one sequential sum

// What clipping multiplies every gradient by, given their norm: max_norm / (norm + 1e-6)
// when that is below 1, else 1. The optimiser applies it as it reads each gradient
// (Optimizer::step), which rounds as torch's in-place multiply before its step does, in
// one pass instead of two. A non-finite norm gives 1 (torch would fill the gradients
// with NaN); the caller sees the norm and skips the step.
float clip_factor(double norm, double max_norm);

}  // namespace whet
