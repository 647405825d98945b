#include "kernels/rmsnorm.h"

#include <cmath>
#include <vector>

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

// With g = dout * weight and r = rstd: dinp = r * g - inp * r³ * mean(g * inp).
// The weight gradient sums over rows, so each thread keeps its own and adds it once.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t n, int64_t c) {
#pragma omp parallel
  {
    std::vector<float> dweight_local(dweight ? c : 0, 0.0f);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* x = inp + i * c;
      const float* dy = dout + i * c;
      const float r = rstd[i];
      float g_dot_x = 0.0f;
#pragma omp simd reduction(+ : g_dot_x)
      for (int64_t j = 0; j < c; ++j) g_dot_x += dy[j] * weight[j] * x[j];
      const float correction = r * r * r * g_dot_x / float(c);
      float* dx = dinp + i * c;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) dx[j] = r * dy[j] * weight[j] - x[j] * correction;
      if (dweight) {
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) dweight_local[j] += dy[j] * x[j] * r;
      }
    }
    if (dweight) {
#pragma omp critical
      for (int64_t j = 0; j < c; ++j) dweight[j] += dweight_local[j];
    }
  }
}

}  // namespace whet
