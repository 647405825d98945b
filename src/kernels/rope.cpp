#include "kernels/rope.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/phase_timer.h"

namespace whet {

namespace {
// Llama 3.1 "llama3" scaling: long wavelengths are slowed by `factor`, short
// ones kept, and the band between interpolated smoothly.
float llama3_scaled(float inv_freq, const RopeScaling& s) {
  const float wavelen = 2.0f * std::numbers::pi_v<float> / inv_freq;
  const float low_freq_wavelen = float(s.original_max_position_embeddings) / s.low_freq_factor;
  const float high_freq_wavelen = float(s.original_max_position_embeddings) / s.high_freq_factor;
  if (wavelen < high_freq_wavelen) return inv_freq;
  if (wavelen > low_freq_wavelen) return inv_freq / s.factor;
  const float smooth = (float(s.original_max_position_embeddings) / wavelen - s.low_freq_factor) /
                       (s.high_freq_factor - s.low_freq_factor);
  return (1.0f - smooth) * inv_freq / s.factor + smooth * inv_freq;
}
}  // namespace

std::vector<float> rope_inverse_frequencies(int head_dim, float theta, const RopeScaling& scaling,
                                            const std::vector<float>& freq_divisors) {
  const int pairs = head_dim / 2;
  WHET_ASSERT(freq_divisors.empty() || int(freq_divisors.size()) == pairs);
  WHET_ASSERT(scaling.type != RopeScalingType::LongRope || !freq_divisors.empty());
  std::vector<float> inv_freq(pairs);
  for (int i = 0; i < pairs; ++i) {
    float f = float(1.0 / std::pow(double(theta), 2.0 * i / head_dim));
    if (!freq_divisors.empty()) {
      f /= freq_divisors[i];
    } else if (scaling.type == RopeScalingType::Linear) {
      f /= scaling.factor;
    } else if (scaling.type == RopeScalingType::Llama3) {
      f = llama3_scaled(f, scaling);
    }
    inv_freq[i] = f;
  }
  return inv_freq;
}

namespace {
// Rotating by -angle is the transpose of rotating by +angle, so the backward
// pass is the forward with the sign of the sine flipped.
void rotate(float* x, const int32_t* positions, int64_t t, int64_t heads, int64_t head_dim, const float* inv_freq,
            float sin_sign) {
  const int64_t half = head_dim / 2;
  WHET_ASSERT(half <= 512);
#pragma omp parallel for schedule(static) if (t > 1)
  for (int64_t i = 0; i < t; ++i) {
    float cos_table[512], sin_table[512];
    for (int64_t p = 0; p < half; ++p) {
      const float angle = float(positions[i]) * inv_freq[p];
      cos_table[p] = std::cos(angle);
      sin_table[p] = sin_sign * std::sin(angle);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (i * heads + h) * head_dim;
      for (int64_t p = 0; p < half; ++p) {
        const float a = v[p], b = v[p + half];
        v[p] = a * cos_table[p] - b * sin_table[p];
        v[p + half] = b * cos_table[p] + a * sin_table[p];
      }
    }
  }
}
}  // namespace

void rope_forward(float* x, const int32_t* positions, int64_t t, int64_t heads, int64_t head_dim,
                  const float* inv_freq) {
  const PhaseScope phase("rope forward");
  rotate(x, positions, t, heads, head_dim, inv_freq, 1.0f);
}

void rope_backward(float* dx, const int32_t* positions, int64_t t, int64_t heads, int64_t head_dim,
                   const float* inv_freq) {
  const PhaseScope phase("rope backward");
  rotate(dx, positions, t, heads, head_dim, inv_freq, -1.0f);
}

}  // namespace whet
