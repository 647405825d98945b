#pragma once
// The language-model head fused with cross-entropy: logits = h·Wᵀ are made a
// chunk of rows at a time and turned into loss and gradients at once, so the
// (tokens × vocab) logits never exist whole. Rows whose target is negative
// (prompt tokens, padding, example ends) cost nothing.
#include <cstdint>

#include "kernels/weight.h"

namespace whet {

struct CrossEntropyResult {
  double loss_sum = 0.0;   // Σ -log p(target) over rows with a target
  int64_t targets = 0;     // rows with a target (>= 0)
};

// h (n, c), targets (n), w (vocab, c). With dh not null, also the backward of
// grad_scale · loss_sum: dh (n, c) = (rows without a target get 0), and
// dweight (vocab, c) += when not null.
CrossEntropyResult lm_head_cross_entropy(float* dh, float* dweight, const float* h, const int32_t* targets, int64_t n,
                                         const Weight& w, float grad_scale);
// Whole logits in double precision: the reference for the tests.
CrossEntropyResult lm_head_cross_entropy_reference(float* dh, float* dweight, const float* h, const int32_t* targets,
                                                   int64_t n, const Weight& w, float grad_scale);

}  // namespace whet
