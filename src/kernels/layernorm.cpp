#include "kernels/layernorm.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/phase_timer.h"

namespace whet {

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t n, int64_t c, float eps) {
  const PhaseScope phase("layernorm forward");
  WHET_ASSERT((mean == nullptr) == (rstd == nullptr));
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t i = 0; i < n; ++i) {
    const float* x = inp + i * c;
    float* y = out + i * c;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < c; ++j) sum += x[j];
    const float m = sum / float(c);
    // Two passes: the variance from the centred values, not E[x²] − m², which cancels.
    float sum_sq = 0.0f;
#pragma omp simd reduction(+ : sum_sq)
    for (int64_t j = 0; j < c; ++j) sum_sq += (x[j] - m) * (x[j] - m);
    const float s = 1.0f / std::sqrt(sum_sq / float(c) + eps);
    if (rstd) {
      mean[i] = m;
      rstd[i] = s;
    }
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) y[j] = (x[j] - m) * s * weight[j] + bias[j];
  }
}

// With x̂ = (inp − mean)·r and g = dout·weight: dinp = r·(g − mean(g) − x̂·mean(g·x̂)).
// The weight and bias gradients sum over rows in per-thread partials added in
// thread order afterwards, as rmsnorm_backward does, so a run repeats bit for bit.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t n, int64_t c) {
  const PhaseScope phase("layernorm backward");
  const int threads = omp_get_max_threads();
  const bool params = dweight || dbias;
  // Per thread: c weight sums, then c bias sums.
  std::vector<float> partials(params ? size_t(threads) * 2 * size_t(c) : 0, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    float* dweight_local = params ? partials.data() + size_t(omp_get_thread_num()) * 2 * size_t(c) : nullptr;
    float* dbias_local = params ? dweight_local + c : nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* x = inp + i * c;
      const float* dy = dout + i * c;
      const float m = mean[i], r = rstd[i];
      float g_sum = 0.0f, g_dot_xhat = 0.0f;
#pragma omp simd reduction(+ : g_sum, g_dot_xhat)
      for (int64_t j = 0; j < c; ++j) {
        const float g = dy[j] * weight[j];
        g_sum += g;
        g_dot_xhat += g * (x[j] - m) * r;
      }
      const float g_mean = g_sum / float(c), gx_mean = g_dot_xhat / float(c);
      float* dx = dinp + i * c;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) dx[j] = r * (dy[j] * weight[j] - g_mean - (x[j] - m) * r * gx_mean);
      if (params) {
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) {
          dweight_local[j] += dy[j] * (x[j] - m) * r;
          dbias_local[j] += dy[j];
        }
      }
    }
  }
  if (!params) return;
  for (int t = 0; t < threads; ++t) {
    const float* part = partials.data() + size_t(t) * 2 * size_t(c);
    for (int64_t j = 0; j < c; ++j) {
      if (dweight) dweight[j] += part[j];
      if (dbias) dbias[j] += part[c + j];
    }
  }
}

}  // namespace whet
