#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace whet {

namespace {

struct Layout {
  int64_t group, kv_stride;
  float scale;
  explicit Layout(const AttentionShape& s)
      : group(s.heads / s.kv_heads), kv_stride(s.kv_heads * s.head_dim), scale(1.0f / std::sqrt(float(s.head_dim))) {}
};

int64_t first_key(const AttentionShape& s, int64_t i) { return s.segment_begin ? s.segment_begin[i] : 0; }

float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t d = 0; d < n; ++d) sum += a[d] * b[d];
  return sum;
}

void axpy(float* y, float alpha, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t d = 0; d < n; ++d) y[d] += alpha * x[d];
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttentionShape& s) {
  const Layout l(s);
#pragma omp parallel
  {
    std::vector<float> scores(s.start + s.t);
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t i = 0; i < s.t; ++i) {
      for (int64_t h = 0; h < s.heads; ++h) {
        const float* qv = q + (i * s.heads + h) * s.head_dim;
        const int64_t kv_offset = (h / l.group) * s.head_dim;
        const int64_t begin = first_key(s, i), end = s.start + i + 1;
        float max_score = -INFINITY;
        for (int64_t j = begin; j < end; ++j) {
          scores[j] = dot(qv, k + j * l.kv_stride + kv_offset, s.head_dim) * l.scale;
          max_score = std::max(max_score, scores[j]);
        }
        float denom = 0.0f;
        for (int64_t j = begin; j < end; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          denom += scores[j];
        }
        float* o = out + (i * s.heads + h) * s.head_dim;
        std::fill(o, o + s.head_dim, 0.0f);
        for (int64_t j = begin; j < end; ++j) axpy(o, scores[j] / denom, v + j * l.kv_stride + kv_offset, s.head_dim);
        if (lse) lse[i * s.heads + h] = max_score + std::log(denom);
      }
    }
  }
}

// Each query head accumulates its key/value gradients privately (query heads of
// one group would race on their shared key/value head); the group sums them after.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const AttentionShape& s) {
  WHET_ASSERT(s.start == 0);
  const Layout l(s);
  const int64_t head_block = s.t * s.head_dim;
  std::vector<float> dk_heads(size_t(s.heads * head_block), 0.0f), dv_heads(dk_heads.size(), 0.0f);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kv_offset = (h / l.group) * s.head_dim;
    float* dk_h = dk_heads.data() + h * head_block;
    float* dv_h = dv_heads.data() + h * head_block;
    for (int64_t i = 0; i < s.t; ++i) {
      const int64_t row = (i * s.heads + h) * s.head_dim;
      const float* qv = q + row;
      const float* dov = dout + row;
      float* dqv = dq + row;
      std::fill(dqv, dqv + s.head_dim, 0.0f);
      const float row_lse = lse[i * s.heads + h];
      const float d_row = dot(dov, out + row, s.head_dim);
      for (int64_t j = first_key(s, i); j <= i; ++j) {
        const float* kj = k + j * l.kv_stride + kv_offset;
        const float* vj = v + j * l.kv_stride + kv_offset;
        const float p = std::exp(dot(qv, kj, s.head_dim) * l.scale - row_lse);
        const float d_score = p * (dot(dov, vj, s.head_dim) - d_row) * l.scale;
        axpy(dqv, d_score, kj, s.head_dim);
        axpy(dk_h + j * s.head_dim, d_score, qv, s.head_dim);
        axpy(dv_h + j * s.head_dim, p, dov, s.head_dim);
      }
    }
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t j = 0; j < s.t; ++j) {
    for (int64_t kvh = 0; kvh < s.kv_heads; ++kvh) {
      float* dkj = dk + j * l.kv_stride + kvh * s.head_dim;
      float* dvj = dv + j * l.kv_stride + kvh * s.head_dim;
      for (int64_t h = kvh * l.group; h < (kvh + 1) * l.group; ++h) {
        axpy(dkj, 1.0f, dk_heads.data() + h * head_block + j * s.head_dim, s.head_dim);
        axpy(dvj, 1.0f, dv_heads.data() + h * head_block + j * s.head_dim, s.head_dim);
      }
    }
  }
}

namespace {

// probs[(h * t_q + i) * keys + j]: the full softmax of every query row, in double.
std::vector<double> reference_probs(const float* q, const float* k, const AttentionShape& s) {
  const Layout l(s);
  const int64_t keys = s.start + s.t;
  std::vector<double> probs(size_t(s.heads * s.t * keys), 0.0);
  for (int64_t h = 0; h < s.heads; ++h) {
    for (int64_t i = 0; i < s.t; ++i) {
      double* p = probs.data() + (h * s.t + i) * keys;
      const int64_t begin = first_key(s, i), end = s.start + i + 1;
      double max_score = -INFINITY, denom = 0.0;
      for (int64_t j = begin; j < end; ++j) {
        double score = 0.0;
        for (int64_t d = 0; d < s.head_dim; ++d)
          score += double(q[(i * s.heads + h) * s.head_dim + d]) * k[j * l.kv_stride + (h / l.group) * s.head_dim + d];
        p[j] = score * l.scale;
        max_score = std::max(max_score, p[j]);
      }
      for (int64_t j = begin; j < end; ++j) denom += p[j] = std::exp(p[j] - max_score);
      for (int64_t j = begin; j < end; ++j) p[j] /= denom;
    }
  }
  return probs;
}

}  // namespace

void attention_forward_reference(float* out, const float* q, const float* k, const float* v, const AttentionShape& s) {
  const Layout l(s);
  const int64_t keys = s.start + s.t;
  const std::vector<double> probs = reference_probs(q, k, s);
  for (int64_t h = 0; h < s.heads; ++h)
    for (int64_t i = 0; i < s.t; ++i)
      for (int64_t d = 0; d < s.head_dim; ++d) {
        double sum = 0.0;
        for (int64_t j = 0; j < keys; ++j)
          sum += probs[(h * s.t + i) * keys + j] * v[j * l.kv_stride + (h / l.group) * s.head_dim + d];
        out[(i * s.heads + h) * s.head_dim + d] = float(sum);
      }
}

void attention_backward_reference(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                  const float* v, const AttentionShape& s) {
  WHET_ASSERT(s.start == 0);
  const Layout l(s);
  const int64_t keys = s.t, hd = s.head_dim;
  const std::vector<double> probs = reference_probs(q, k, s);
  std::fill(dq, dq + s.t * s.heads * hd, 0.0f);
  for (int64_t h = 0; h < s.heads; ++h) {
    const int64_t kv = (h / l.group) * hd;
    for (int64_t i = 0; i < s.t; ++i) {
      const double* p = probs.data() + (h * s.t + i) * keys;
      const float* dov = dout + (i * s.heads + h) * hd;
      std::vector<double> d_prob(keys, 0.0);
      double weighted = 0.0;  // sum_j p_j * d_prob_j
      for (int64_t j = 0; j < keys; ++j) {
        for (int64_t d = 0; d < hd; ++d) d_prob[j] += double(dov[d]) * v[j * l.kv_stride + kv + d];
        weighted += p[j] * d_prob[j];
      }
      for (int64_t j = 0; j < keys; ++j) {
        const double d_score = p[j] * (d_prob[j] - weighted) * l.scale;
        for (int64_t d = 0; d < hd; ++d) {
          dq[(i * s.heads + h) * hd + d] += float(d_score * k[j * l.kv_stride + kv + d]);
          dk[j * l.kv_stride + kv + d] += float(d_score * q[(i * s.heads + h) * hd + d]);
          dv[j * l.kv_stride + kv + d] += float(p[j] * dov[d]);
        }
      }
    }
  }
}

}  // namespace whet
