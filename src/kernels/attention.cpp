#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace whet {

void attention_forward(float* out, const float* q, const float* k, const float* v, const AttentionShape& s) {
  const int64_t group = s.heads / s.kv_heads;
  const int64_t kv_stride = s.kv_heads * s.head_dim;
  const float scale = 1.0f / std::sqrt(float(s.head_dim));
#pragma omp parallel
  {
    std::vector<float> scores(s.start + s.t);
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t i = 0; i < s.t; ++i) {
      for (int64_t h = 0; h < s.heads; ++h) {
        const float* qv = q + (i * s.heads + h) * s.head_dim;
        const int64_t kv_head = h / group;
        const int64_t visible = s.start + i + 1;
        float max_score = -INFINITY;
        for (int64_t j = 0; j < visible; ++j) {
          const float* kv = k + j * kv_stride + kv_head * s.head_dim;
          float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
          for (int64_t d = 0; d < s.head_dim; ++d) dot += qv[d] * kv[d];
          scores[j] = dot * scale;
          max_score = std::max(max_score, scores[j]);
        }
        float denom = 0.0f;
        for (int64_t j = 0; j < visible; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          denom += scores[j];
        }
        float* o = out + (i * s.heads + h) * s.head_dim;
        std::fill(o, o + s.head_dim, 0.0f);
        for (int64_t j = 0; j < visible; ++j) {
          const float p = scores[j] / denom;
          const float* vv = v + j * kv_stride + kv_head * s.head_dim;
#pragma omp simd
          for (int64_t d = 0; d < s.head_dim; ++d) o[d] += p * vv[d];
        }
      }
    }
  }
}

}  // namespace whet
