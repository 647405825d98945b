#pragma once
// Knowledge distillation (Hinton et al.): the student's logits z_s are pulled
// towards a teacher's z_t at temperature T by the loss T²·KL(p_t ‖ p_s), with
// p = softmax(z / T). The T² keeps the gradient's size independent of T:
//   d(T²·KL)/d z_s = T·(softmax(z_s / T) − softmax(z_t / T)).
// The LM head calls distill_rows on its chunks of logits
// (kernels/cross_entropy.h), so vocabulary-sized rows never exist whole.
#include <cstdint>

namespace whet {

// Rows of logits, student (rows, vocab) and teacher (rows, vocab): returns
// Σ_rows T²·KL(p_t ‖ p_s). With grad not null, writes grad (rows, vocab) =
// grad_scale · T · (p_s − p_t); grad may be `teacher` itself (in place).
double distill_rows(float* grad, const float* student, const float* teacher, int64_t rows, int64_t vocab,
                    float temperature, float grad_scale);

// One row in double precision, straight from the definition: the reference for
// the tests. Returns T²·KL; with grad not null, grad (vocab) = T · (p_s − p_t).
double distill_row_reference(double* grad, const double* student, const double* teacher, int64_t vocab,
                             double temperature);

}  // namespace whet
