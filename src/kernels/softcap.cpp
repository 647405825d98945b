#include "kernels/softcap.h"

namespace whet {

void softcap_forward(float* x, int64_t n, float cap) {
  if (cap <= 0) return;
  // A chunk of LM-head logits is millions of tanh: worth threads (inside attention's
  // parallel tiles, this runs on the calling thread alone).
#pragma omp parallel for schedule(static) if (n >= (int64_t(1) << 16))
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void softcap_backward(float* grad, const float* capped, int64_t n, float cap) {
  const float inverse = softcap_inverse(cap);
  if (inverse == 0) return;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) grad[i] *= softcap_slope(capped[i], inverse);
}

}  // namespace whet
