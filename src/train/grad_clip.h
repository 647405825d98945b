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

// Multiplies every gradient by max_norm / (norm + 1e-6) when that is below 1 and returns
// the norm before clipping. A non-finite norm leaves the gradients as they are (torch
// would fill them with NaN); the caller sees it in the returned value and can skip the step.
double clip_grad_norm(const std::vector<Parameter>& params, double max_norm);

}  // namespace whet
