#include "kernels/rmsnorm.h"

#include <cmath>

namespace whet {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t n, int64_t c,
                     float eps) {
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t i = 0; i < n; ++i) {
    const float* x = inp + i * c;
    float* y = out + i * c;
    float sum_sq = 0.0f;
#pragma omp simd reduction(+ : sum_sq)
    for (int64_t j = 0; j < c; ++j) sum_sq += x[j] * x[j];
    float s = 1.0f / std::sqrt(sum_sq / float(c) + eps);
    if (rstd) rstd[i] = s;
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) y[j] = x[j] * s * weight[j];
  }
}

}  // namespace whet
