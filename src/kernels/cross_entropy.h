#pragma once
// The language-model head fused with cross-entropy: logits = h·Wᵀ are made a
// chunk of rows at a time and turned into loss and gradients at once, so the
// (tokens × vocab) logits never exist whole. Rows whose target is negative
// (prompt tokens, padding, example ends) cost nothing. Optionally the same rows
// are also distilled from a teacher's hidden states through the same head
// (kernels/distill.h), chunk by chunk as well.
#include <cstdint>

#include "kernels/weight.h"

namespace whet {

struct CrossEntropyResult {
  double loss_sum = 0.0;   // Σ -log p(target) over rows with a target
  int64_t targets = 0;     // rows with a target (>= 0)
  double distill_sum = 0.0;  // Σ T²·KL(p_teacher ‖ p_student) over the same rows, when distilling
};

// Distillation through the head: the teacher's logits are teacher_h·Wᵀ with the
// same W (a LoRA adapter's base). Off while teacher_h is null.
struct HeadDistillation {
  const float* teacher_h = nullptr;  // (n, c), the teacher's final hidden states
  float temperature = 2.0f;
  float grad_scale = 0.0f;           // of distill_sum, added to the gradient of the cross-entropy
};

// Per-row terms, for losses that weigh each token on its own (GRPO's clipped
// ratio and KL): weights (n) multiply grad_scale row by row (null: all 1), and
// losses (n), when not null, receive each row's −log p(target) (rows without a
// target are left as they are).
struct RowTerms {
  const float* weights = nullptr;
  double* losses = nullptr;
};

// h (n, c), targets (n), w (vocab, c). With dh not null, also the backward of
// grad_scale · Σ rows.weights[i] · loss_i: dh (n, c) = (rows without a target get 0), and
// dweight (vocab, c) += when not null. With distill.teacher_h, the rows with a
// target are also distilled and the gradient is that of the sum of both terms.
// softcap > 0: the logits (the teacher's too) are softcap·tanh(h·Wᵀ / softcap) (kernels/softcap.h).
CrossEntropyResult lm_head_cross_entropy(float* dh, float* dweight, const float* h, const int32_t* targets, int64_t n,
                                         const Weight& w, float grad_scale, const HeadDistillation& distill = {},
                                         const RowTerms& rows = {}, float softcap = 0.0f);
// Bytes lm_head_cross_entropy allocates for a (vocab, c) head beside its inputs and
// outputs (no distillation, no softcap): a chunk of logits and of rows, and a
// whole fp32 copy of a head stored in another type (decoded_head).
int64_t lm_head_cross_entropy_scratch_bytes(int64_t vocab, int64_t c, bool decoded_head);

// Whole logits in double precision: the reference for the tests.
CrossEntropyResult lm_head_cross_entropy_reference(float* dh, float* dweight, const float* h, const int32_t* targets,
                                                   int64_t n, const Weight& w, float grad_scale,
                                                   const HeadDistillation& distill = {}, const RowTerms& rows = {},
                                                   float softcap = 0.0f);

}  // namespace whet
