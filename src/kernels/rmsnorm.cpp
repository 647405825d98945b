#include "kernels/rmsnorm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "core/phase_timer.h"

namespace whet {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t n, int64_t c,
                     float eps) {
  const PhaseScope phase("rmsnorm forward");
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
// The weight gradient sums over rows: each thread sums its rows (a static
// schedule, so the same rows for the same thread count), and the partial sums
// are added in thread order afterwards, so a run repeats bit for bit.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t n, int64_t c) {
  const PhaseScope phase("rmsnorm backward");
  const int threads = omp_get_max_threads();
  std::vector<float> partials(dweight ? size_t(threads) * size_t(c) : 0, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    float* dweight_local = dweight ? partials.data() + size_t(omp_get_thread_num()) * size_t(c) : nullptr;
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
      if (dweight_local) {
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) dweight_local[j] += dy[j] * x[j] * r;
      }
    }
  }
  if (!dweight) return;
  for (int t = 0; t < threads; ++t)
    for (int64_t j = 0; j < c; ++j) dweight[j] += partials[size_t(t) * size_t(c) + size_t(j)];
}

}  // namespace whet
