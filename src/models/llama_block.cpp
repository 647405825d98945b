#include "models/llama_block.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"

namespace whet {

namespace {

const float* f32(const Weight& w) {
  WHET_ASSERT(w.dtype == DType::F32);
  return reinterpret_cast<const float*>(w.data);
}

// out = a + b; out may be a.
void add(float* out, const float* a, const float* b, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

// Copies n floats to dst unless they are there already (training's segment keys
// are the block's own rows).
void place(float* dst, const float* src, int64_t n) {
  if (dst != src) std::copy(src, src + n, dst);
}

}  // namespace

int64_t BlockContext::rows() const {
  int64_t t = 0;
  for (const AttentionSegment& s : segments) t += s.shape.t;
  return t;
}

float* grad_data(const Weight& g) { return const_cast<float*>(reinterpret_cast<const float*>(g.data)); }

void llama_block_forward(const BlockContext& ctx, const BlockActivations& a) {
  const LlamaConfig& c = ctx.model->config;
  const LlamaLayer& l = ctx.model->weights.layers[ctx.layer];
  const int64_t t = ctx.rows(), hidden = c.hidden_size, ffn = c.intermediate_size;
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  auto project = [&](float* out, const float* inp, Projection p) {
    projection_forward(out, a.lora_hidden[int(p)], inp, t, projection_weight(l, p), ctx.lora[int(p)]);
  };
  rmsnorm_forward(a.h_attn, a.rstd_attn, a.x_in, f32(l.attn_norm), t, hidden, c.rms_norm_eps);
  project(a.q, a.h_attn, Projection::Q);
  project(a.k, a.h_attn, Projection::K);
  project(a.v, a.h_attn, Projection::V);
  rope_forward(a.q, ctx.positions, t, c.num_heads, c.head_dim, ctx.model->rope_inv_freq.data());
  rope_forward(a.k, ctx.positions, t, c.num_kv_heads, c.head_dim, ctx.model->rope_inv_freq.data());
  int64_t row = 0;  // first row of the segment
  for (const AttentionSegment& seg : ctx.segments) {
    place(seg.k + seg.shape.start * kv_dim, a.k + row * kv_dim, seg.shape.t * kv_dim);
    place(seg.v + seg.shape.start * kv_dim, a.v + row * kv_dim, seg.shape.t * kv_dim);
    attention_forward(a.att + row * q_dim, a.lse ? a.lse + row * c.num_heads : nullptr, a.q + row * q_dim, seg.k,
                      seg.v, seg.shape);
    row += seg.shape.t;
  }
  project(a.proj, a.att, Projection::O);
  add(a.x_mid, a.x_in, a.proj, t * hidden);

  rmsnorm_forward(a.h_ffn, a.rstd_ffn, a.x_mid, f32(l.ffn_norm), t, hidden, c.rms_norm_eps);
  project(a.gate, a.h_ffn, Projection::Gate);
  project(a.up, a.h_ffn, Projection::Up);
  swiglu_forward(a.act, a.gate, a.up, t * ffn);
  project(a.proj, a.act, Projection::Down);
  add(a.x_out, a.x_mid, a.proj, t * hidden);
}

BlockGradScratch::BlockGradScratch(const LlamaConfig& c, int64_t t)
    : h(t * c.hidden_size),
      tmp(t * c.hidden_size),
      q(t * c.num_heads * c.head_dim),
      k(t * c.num_kv_heads * c.head_dim),
      v(t * c.num_kv_heads * c.head_dim),
      att(t * c.num_heads * c.head_dim),
      gate(t * c.intermediate_size),
      up(t * c.intermediate_size),
      act(t * c.intermediate_size) {}

// The forward in reverse. Residual adds pass dx through unchanged, so the
// branches add their input gradients into it.
void llama_block_backward(const BlockContext& ctx, const BlockActivations& a, float* dx, LlamaLayer* grads,
                          BlockGradScratch& s) {
  const LlamaConfig& c = ctx.model->config;
  const LlamaLayer& l = ctx.model->weights.layers[ctx.layer];
  const int64_t t = ctx.rows(), hidden = c.hidden_size;
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  auto project_back = [&](float* dinp, const float* dout, const float* inp, Projection p, bool accumulate) {
    float* dweight = grads ? grad_data(projection_weight(*grads, p)) : nullptr;
    projection_backward(dinp, dweight, dout, inp, a.lora_hidden[int(p)], t, projection_weight(l, p), ctx.lora[int(p)],
                        accumulate);
  };
  auto norm_grad = [&](Weight LlamaLayer::*norm) { return grads ? grad_data(grads->*norm) : nullptr; };

  project_back(s.act.data(), dx, a.act, Projection::Down, false);
  swiglu_backward(s.gate.data(), s.up.data(), s.act.data(), a.gate, a.up, t * c.intermediate_size);
  project_back(s.h.data(), s.gate.data(), a.h_ffn, Projection::Gate, false);
  project_back(s.h.data(), s.up.data(), a.h_ffn, Projection::Up, true);
  rmsnorm_backward(s.tmp.data(), norm_grad(&LlamaLayer::ffn_norm), s.h.data(), a.x_mid,
                   f32(l.ffn_norm), a.rstd_ffn, t, hidden);
  add(dx, dx, s.tmp.data(), t * hidden);

  project_back(s.att.data(), dx, a.att, Projection::O, false);
  std::fill(s.k.begin(), s.k.end(), 0.0f);
  std::fill(s.v.begin(), s.v.end(), 0.0f);
  int64_t row = 0;
  for (const AttentionSegment& seg : ctx.segments) {
    // Keys and values seen here are the segment's own rows, so their gradients are the rows' too.
    WHET_ASSERT(seg.shape.start == 0 && seg.k == a.k + row * kv_dim && seg.v == a.v + row * kv_dim);
    const int64_t q_at = row * q_dim, kv_at = row * kv_dim;
    attention_backward(s.q.data() + q_at, s.k.data() + kv_at, s.v.data() + kv_at, s.att.data() + q_at, a.q + q_at,
                       seg.k, seg.v, a.att + q_at, a.lse + row * c.num_heads, seg.shape);
    row += seg.shape.t;
  }
  rope_backward(s.q.data(), ctx.positions, t, c.num_heads, c.head_dim, ctx.model->rope_inv_freq.data());
  rope_backward(s.k.data(), ctx.positions, t, c.num_kv_heads, c.head_dim, ctx.model->rope_inv_freq.data());
  project_back(s.h.data(), s.q.data(), a.h_attn, Projection::Q, false);
  project_back(s.h.data(), s.k.data(), a.h_attn, Projection::K, true);
  project_back(s.h.data(), s.v.data(), a.h_attn, Projection::V, true);
  rmsnorm_backward(s.tmp.data(), norm_grad(&LlamaLayer::attn_norm), s.h.data(), a.x_in,
                   f32(l.attn_norm), a.rstd_attn, t, hidden);
  add(dx, dx, s.tmp.data(), t * hidden);
}

}  // namespace whet
