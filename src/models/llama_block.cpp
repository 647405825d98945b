#include "models/llama_block.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/phase_timer.h"
#include "kernels/embedding.h"
#include "kernels/gated_activation.h"
#include "kernels/layernorm.h"
#include "kernels/linear.h"
#include "kernels/quant.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"

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

// Each of the t rows of x (t, width) plus bias (width); no bias: nothing.
void add_bias(float* x, const Weight& bias, int64_t t) {
  if (!bias.data) return;
  const float* b = f32(bias);
  for (int64_t r = 0; r < t; ++r) add(x + r * bias.cols, x + r * bias.cols, b, bias.cols);
}

// dbias (width) += Σ over the t rows of dy (t, width); null dbias: frozen or absent.
void add_bias_gradient(float* dbias, const float* dy, int64_t t, int64_t width) {
  if (!dbias) return;
  for (int64_t r = 0; r < t; ++r) add(dbias, dbias, dy + r * width, width);
}

// Copies n floats to dst unless they are there already (training's segment keys
// are the block's own rows).
void place(float* dst, const float* src, int64_t n) {
  if (dst != src) std::copy(src, src + n, dst);
}

// The calling thread's bf16 buffer `slot` of n values, kept from block to block:
// the inputs of the products rounded once where several products take them, or by
// the kernel that made them (kernels/lora.h's Activation).
enum class Bf16Slot { AttentionInput, MlpInput, Activation, GateGradient, UpGradient, Count };

uint16_t* bf16_scratch(Bf16Slot slot, int64_t n) {
  thread_local std::array<std::vector<uint16_t>, size_t(Bf16Slot::Count)> buffers;
  std::vector<uint16_t>& buffer = buffers[size_t(slot)];
  if (buffer.size() < size_t(n)) buffer.resize(size_t(n));
  return buffer.data();
}

// Whether projection p of this layer rounds its inputs to bf16 (kernels/lora.h).
bool rounds_inputs(const BlockContext& ctx, Projection p) {
  return projection_rounds_inputs(projection_weight(ctx.model->weights.layers[ctx.layer], p), ctx.lora[int(p)]);
}

// x (n) with its bf16 copy in `slot` where projection p (and the others that take
// x, of the same encoding) round their inputs: once here instead of once each.
Activation rounded_once(const BlockContext& ctx, const float* x, int64_t n, Projection p, Bf16Slot slot) {
  if (!rounds_inputs(ctx, p)) return x;
  uint16_t* copy = bf16_scratch(slot, n);
  round_to_bf16(copy, x, n);
  return {x, copy};
}

// The layer's attention shape of one segment: its scale, softcap and, in a sliding layer, the window.
AttentionShape layer_shape(const BlockContext& ctx, const AttentionSegment& seg) {
  const LlamaConfig& c = ctx.model->config;
  AttentionShape shape = seg.shape;
  shape.scale = attention_scale(c);
  shape.window = c.layer_is_sliding(ctx.layer) ? c.sliding_window : 0;
  shape.softcap = c.attn_logit_softcap;
  shape.bf16_products =
      ctx.bf16_products && projection_weight(ctx.model->weights.layers[ctx.layer], Projection::Q).dtype == DType::BF16;
  return shape;
}

}  // namespace

int64_t BlockContext::rows() const {
  int64_t t = 0;
  for (const AttentionSegment& s : segments) t += s.shape.t;
  return t;
}

float* grad_data(const Weight& g) { return const_cast<float*>(reinterpret_cast<const float*>(g.data)); }

void embed_tokens(const LlamaModel& model, const int32_t* ids, const int32_t* positions, int64_t t, float* x) {
  const LlamaConfig& c = model.config;
  const int64_t hidden = c.hidden_size;
  embedding_forward(x, ids, t, model.weights.embed);
  const float scale = c.embedding_scale;
  if (scale != 1.0f)
    for (int64_t i = 0; i < t * hidden; ++i) x[i] *= scale;
  if (!c.learned_positions) return;
  for (int64_t i = 0; i < t; ++i)
    if (positions[i] < 0 || positions[i] >= c.max_position_embeddings)
      fail("model", "position {} is beyond the {} positions the model's position embedding holds", positions[i],
           c.max_position_embeddings);
  std::vector<float> rows(size_t(t * hidden));
  embedding_forward(rows.data(), positions, t, model.weights.position_embed);
  add(x, x, rows.data(), t * hidden);
}

void embed_tokens_backward(const LlamaModel& model, LlamaWeights& grads, float* dx, const int32_t* ids,
                           const int32_t* positions, int64_t t) {
  const int64_t hidden = model.config.hidden_size;
  if (model.config.learned_positions && grads.position_embed.data)
    embedding_backward(grad_data(grads.position_embed), dx, positions, t, hidden);
  if (!grads.embed.data) return;
  const float scale = model.config.embedding_scale;
  if (scale != 1.0f)
    for (int64_t i = 0; i < t * hidden; ++i) dx[i] *= scale;
  embedding_backward(grad_data(grads.embed), dx, ids, t, hidden);
}

void norm_forward(const LlamaConfig& c, float* out, float* mean, float* rstd, const float* inp, const Weight& weight,
                  const Weight& bias, int64_t n) {
  if (c.norm == NormKind::Layer)
    return layernorm_forward(out, mean, rstd, inp, f32(weight), f32(bias), n, c.hidden_size, c.norm_eps);
  rmsnorm_forward(out, rstd, inp, f32(weight), n, c.hidden_size, c.norm_eps);
}

void norm_backward(const LlamaConfig& c, float* dinp, float* dweight, float* dbias, const float* dout,
                   const float* inp, const Weight& weight, const float* mean, const float* rstd, int64_t n) {
  if (c.norm == NormKind::Layer)
    return layernorm_backward(dinp, dweight, dbias, dout, inp, f32(weight), mean, rstd, n, c.hidden_size);
  rmsnorm_backward(dinp, dweight, dout, inp, f32(weight), rstd, n, c.hidden_size);
}

// Each segment's new keys and values placed in its cache, and its rows' attention.
// Decoding several sequences (a row or a few each), one sequence per thread: a
// step's attention is a handful of dot products per head, less than what forking
// and joining threads around every sequence's heads costs.
void attend_segments(const BlockContext& ctx, const BlockActivations& a) {
  const LlamaConfig& c = ctx.model->config;
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  const std::vector<AttentionSegment>& segments = ctx.segments;
  std::vector<int64_t> first_row(segments.size() + 1, 0);
  for (size_t i = 0; i < segments.size(); ++i) first_row[i + 1] = first_row[i] + segments[i].shape.t;
  constexpr int64_t kDecodeRows = 4;
  const bool thread_per_sequence =
      segments.size() > 1 && std::all_of(segments.begin(), segments.end(), [](const AttentionSegment& seg) {
        return seg.shape.t <= kDecodeRows;
      });
  auto attend = [&](size_t i) {
    const AttentionSegment& seg = segments[i];
    const int64_t row = first_row[i];
    const int64_t at = seg.shape.start * kv_dim, n = seg.shape.t * kv_dim;
    float* out = a.att + row * q_dim;
    float* lse = a.lse ? a.lse + row * c.num_heads : nullptr;
    if (seg.k_f16) {
      quantize(DType::F16, a.k + row * kv_dim, seg.k_f16 + at, n);
      quantize(DType::F16, a.v + row * kv_dim, seg.v_f16 + at, n);
      return attention_forward_f16_kv(out, lse, a.q + row * q_dim, seg.k_f16, seg.v_f16, layer_shape(ctx, seg));
    }
    place(seg.k + at, a.k + row * kv_dim, n);
    place(seg.v + at, a.v + row * kv_dim, n);
    attention_forward(out, lse, a.q + row * q_dim, seg.k, seg.v, layer_shape(ctx, seg));
  };
  // One sequence, or long ones: no enclosing region, so attention's own loop
  // splits each sequence's heads and tiles across the threads.
  if (!thread_per_sequence) {
    for (size_t i = 0; i < segments.size(); ++i) attend(i);
    return;
  }
  const PhaseScope phase("attention forward, a sequence per thread");
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < segments.size(); ++i) attend(i);
}

// Norm, q/k/v (with biases, q/k norms and rope), attention per segment, o (with
// its bias and norm) and the residual add; then the same shape for the MLP, gated or not.
void llama_block_forward(const BlockContext& ctx, const BlockActivations& a) {
  const LlamaConfig& c = ctx.model->config;
  const LlamaLayer& l = ctx.model->weights.layers[ctx.layer];
  const int64_t t = ctx.rows(), hidden = c.hidden_size, ffn = c.intermediate_size;
  const float* rope = ctx.model->rope_frequencies(ctx.layer);
  auto project = [&](float* out, Activation inp, Projection p) {
    projection_forward(out, a.lora_hidden[int(p)], inp, t, projection_weight(l, p), ctx.lora[int(p)]);
  };
  // Projections of the same input: without adapters on them, their products go
  // together (kernels/linear.h: on AMX tiles, the input is prepared once for all);
  // with them, or rounded to bf16 already, kernels/lora.h's projections_forward.
  auto project_together = [&](std::initializer_list<std::pair<float*, Projection>> outputs, Activation inp) {
    const bool adapted = std::any_of(outputs.begin(), outputs.end(), [&](const auto& o) { return ctx.lora[int(o.second)].rank > 0; });
    if (adapted || inp.bf16) {
      std::vector<ProjectionOutput> projections;
      for (const auto& [out, p] : outputs)
        projections.push_back({out, a.lora_hidden[int(p)], &projection_weight(l, p), &ctx.lora[int(p)]});
      projections_forward(projections, inp, t);
      return;
    }
    std::vector<WeightProduct> products;
    for (const auto& [out, p] : outputs) products.push_back({out, &projection_weight(l, p)});
    linear_forward(products, inp.values, t);
  };
  norm_forward(c, a.h_attn, a.mean_attn, a.rstd_attn, a.x_in, l.attn_norm, l.attn_norm_bias, t);
  float* q = c.qk_norm ? a.q_raw : a.q;
  float* k = c.qk_norm ? a.k_raw : a.k;
  project_together({{q, Projection::Q}, {k, Projection::K}, {a.v, Projection::V}},
                   rounded_once(ctx, a.h_attn, t * hidden, Projection::Q, Bf16Slot::AttentionInput));
  add_bias(q, l.q_bias, t);
  add_bias(k, l.k_bias, t);
  add_bias(a.v, l.v_bias, t);
  if (c.qk_norm) {
    rmsnorm_forward(a.q, a.rstd_q, a.q_raw, f32(l.q_norm), t * c.num_heads, c.head_dim, c.norm_eps);
    rmsnorm_forward(a.k, a.rstd_k, a.k_raw, f32(l.k_norm), t * c.num_kv_heads, c.head_dim, c.norm_eps);
  }
  if (!c.learned_positions) {
    rope_forward(a.q, ctx.positions, t, c.num_heads, c.head_dim, rope);
    rope_forward(a.k, ctx.positions, t, c.num_kv_heads, c.head_dim, rope);
  }
  attend_segments(ctx, a);
  float* o = c.sandwich_norms ? a.attn_raw : a.proj;
  project(o, a.att, Projection::O);
  add_bias(o, l.o_bias, t);
  if (c.sandwich_norms)
    rmsnorm_forward(a.proj, a.rstd_post_attn, a.attn_raw, f32(l.post_attn_norm), t, hidden, c.norm_eps);
  add(a.x_mid, a.x_in, a.proj, t * hidden);

  norm_forward(c, a.h_ffn, a.mean_ffn, a.rstd_ffn, a.x_mid, l.ffn_norm, l.ffn_norm_bias, t);
  uint16_t* act16 = nullptr;  // the activation's bf16 rounding, made in its own pass where Down takes it
  if (c.gated_mlp) {
    project_together({{a.up, Projection::Up}, {a.gate, Projection::Gate}},
                     rounded_once(ctx, a.h_ffn, t * hidden, Projection::Up, Bf16Slot::MlpInput));
    add_bias(a.up, l.up_bias, t);
    if (rounds_inputs(ctx, Projection::Down)) act16 = bf16_scratch(Bf16Slot::Activation, t * ffn);
    gated_activation_forward(c.activation, a.act, a.gate, a.up, t * ffn, act16);
  } else {
    project(a.up, a.h_ffn, Projection::Up);
    add_bias(a.up, l.up_bias, t);
    activation_forward(c.activation, a.act, a.up, t * ffn);
  }
  float* down = c.sandwich_norms ? a.ffn_raw : a.proj;
  project(down, {a.act, act16}, Projection::Down);
  add_bias(down, l.down_bias, t);
  if (c.sandwich_norms)
    rmsnorm_forward(a.proj, a.rstd_post_ffn, a.ffn_raw, f32(l.post_ffn_norm), t, hidden, c.norm_eps);
  add(a.x_out, a.x_mid, a.proj, t * hidden);
}

BlockGradScratch::BlockGradScratch(const LlamaConfig& c, int64_t t)
    : h(t * c.hidden_size),
      tmp(t * c.hidden_size),
      branch(c.sandwich_norms ? t * c.hidden_size : 0),
      q(t * c.num_heads * c.head_dim),
      k(t * c.num_kv_heads * c.head_dim),
      v(t * c.num_kv_heads * c.head_dim),
      q_raw(c.qk_norm ? q.size() : 0),
      k_raw(c.qk_norm ? k.size() : 0),
      att(t * c.num_heads * c.head_dim),
      gate(c.gated_mlp ? t * c.intermediate_size : 0),
      up(t * c.intermediate_size),
      act(t * c.intermediate_size) {}

int64_t BlockGradScratch::floats(const LlamaConfig& c, int64_t t) {
  // Every buffer is (t, width): the widths are those of one row.
  const BlockGradScratch row(c, 1);
  int64_t widths = 0;
  for (const std::vector<float>* v : {&row.h, &row.tmp, &row.branch, &row.q, &row.k, &row.v, &row.q_raw, &row.k_raw,
                                      &row.att, &row.gate, &row.up, &row.act})
    widths += int64_t(v->size());
  return widths * t;
}

int64_t block_bf16_scratch_bytes(const LlamaConfig& c, int64_t t) {
  // Without a gate only q/k/v's input is rounded here.
  const int64_t elements = c.gated_mlp ? 2 * c.hidden_size + 3 * c.intermediate_size : c.hidden_size;
  return 2 * t * elements;
}

// The forward in reverse. Residual adds pass dx through unchanged, so the
// branches add their input gradients into it.
void llama_block_backward(const BlockContext& ctx, const BlockActivations& a, float* dx, LlamaLayer* grads,
                          BlockGradScratch& s) {
  const LlamaConfig& c = ctx.model->config;
  const LlamaLayer& l = ctx.model->weights.layers[ctx.layer];
  const int64_t t = ctx.rows(), hidden = c.hidden_size;
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  const float* rope = ctx.model->rope_frequencies(ctx.layer);
  // The input gradient of projections of one input (kernels/lora.h projections_backward).
  auto project_back = [&](float* dinp, std::initializer_list<std::pair<Activation, Projection>> douts, const float* inp) {
    std::vector<ProjectionGradient> projections;
    for (const auto& [dout, p] : douts)
      projections.push_back({dout, a.lora_hidden[int(p)], &projection_weight(l, p), &ctx.lora[int(p)],
                             grads ? grad_data(projection_weight(*grads, p)) : nullptr});
    projections_backward(dinp, projections, inp, t, /*accumulate=*/false);
  };
  auto grad_of = [&](Weight LlamaLayer::*w) { return grads ? grad_data(grads->*w) : nullptr; };
  // d(branch output before its sandwich norm), or dx itself without one.
  auto through_post_norm = [&](const float* raw, Weight LlamaLayer::*norm, const float* rstd) -> const float* {
    if (!c.sandwich_norms) return dx;
    rmsnorm_backward(s.branch.data(), grad_of(norm), dx, raw, f32(l.*norm), rstd, t, hidden);
    return s.branch.data();
  };

  const int64_t ffn = c.intermediate_size;
  const float* d_down = through_post_norm(a.ffn_raw, &LlamaLayer::post_ffn_norm, a.rstd_post_ffn);
  add_bias_gradient(grad_of(&LlamaLayer::down_bias), d_down, t, hidden);
  project_back(s.act.data(), {{d_down, Projection::Down}}, a.act);
  Activation d_up = s.up.data(), d_gate = s.gate.data();
  if (c.gated_mlp) {
    // Their bf16 roundings made in the same pass, where the products take them.
    uint16_t *d_gate16 = nullptr, *d_up16 = nullptr;
    if (rounds_inputs(ctx, Projection::Up) && rounds_inputs(ctx, Projection::Gate)) {
      d_gate.bf16 = d_gate16 = bf16_scratch(Bf16Slot::GateGradient, t * ffn);
      d_up.bf16 = d_up16 = bf16_scratch(Bf16Slot::UpGradient, t * ffn);
    }
    gated_activation_backward(c.activation, s.gate.data(), s.up.data(), s.act.data(), a.gate, a.up, t * ffn, d_gate16,
                              d_up16);
  } else {
    activation_backward(c.activation, s.up.data(), s.act.data(), a.up, t * ffn);
  }
  // A bias's gradient changes nothing of d_up: its rounding stays good.
  add_bias_gradient(grad_of(&LlamaLayer::up_bias), s.up.data(), t, ffn);
  if (c.gated_mlp) {
    project_back(s.h.data(), {{d_up, Projection::Up}, {d_gate, Projection::Gate}}, a.h_ffn);
  } else {
    project_back(s.h.data(), {{d_up, Projection::Up}}, a.h_ffn);
  }
  norm_backward(c, s.tmp.data(), grad_of(&LlamaLayer::ffn_norm), grad_of(&LlamaLayer::ffn_norm_bias), s.h.data(),
                a.x_mid, l.ffn_norm, a.mean_ffn, a.rstd_ffn, t);
  add(dx, dx, s.tmp.data(), t * hidden);

  const float* d_o = through_post_norm(a.attn_raw, &LlamaLayer::post_attn_norm, a.rstd_post_attn);
  add_bias_gradient(grad_of(&LlamaLayer::o_bias), d_o, t, hidden);
  project_back(s.att.data(), {{d_o, Projection::O}}, a.att);
  std::fill(s.k.begin(), s.k.end(), 0.0f);
  std::fill(s.v.begin(), s.v.end(), 0.0f);
  int64_t row = 0;
  for (const AttentionSegment& seg : ctx.segments) {
    // Keys and values seen here are the segment's own rows, so their gradients are the rows' too.
    WHET_ASSERT(seg.shape.start == 0 && seg.k == a.k + row * kv_dim && seg.v == a.v + row * kv_dim);
    const int64_t q_at = row * q_dim, kv_at = row * kv_dim;
    attention_backward(s.q.data() + q_at, s.k.data() + kv_at, s.v.data() + kv_at, s.att.data() + q_at, a.q + q_at,
                       seg.k, seg.v, a.att + q_at, a.lse + row * c.num_heads, layer_shape(ctx, seg));
    row += seg.shape.t;
  }
  if (!c.learned_positions) {
    rope_backward(s.q.data(), ctx.positions, t, c.num_heads, c.head_dim, rope);
    rope_backward(s.k.data(), ctx.positions, t, c.num_kv_heads, c.head_dim, rope);
  }
  float* dq = s.q.data();
  float* dk = s.k.data();
  if (c.qk_norm) {
    rmsnorm_backward(s.q_raw.data(), grad_of(&LlamaLayer::q_norm), dq, a.q_raw, f32(l.q_norm), a.rstd_q,
                     t * c.num_heads, c.head_dim);
    rmsnorm_backward(s.k_raw.data(), grad_of(&LlamaLayer::k_norm), dk, a.k_raw, f32(l.k_norm), a.rstd_k,
                     t * c.num_kv_heads, c.head_dim);
    dq = s.q_raw.data();
    dk = s.k_raw.data();
  }
  if (c.attention_bias) {
    add_bias_gradient(grad_of(&LlamaLayer::q_bias), dq, t, q_dim);
    add_bias_gradient(grad_of(&LlamaLayer::k_bias), dk, t, kv_dim);
    add_bias_gradient(grad_of(&LlamaLayer::v_bias), s.v.data(), t, kv_dim);
  }
  project_back(s.h.data(), {{dq, Projection::Q}, {dk, Projection::K}, {s.v.data(), Projection::V}}, a.h_attn);
  norm_backward(c, s.tmp.data(), grad_of(&LlamaLayer::attn_norm), grad_of(&LlamaLayer::attn_norm_bias), s.h.data(),
                a.x_in, l.attn_norm, a.mean_attn, a.rstd_attn, t);
  add(dx, dx, s.tmp.data(), t * hidden);
}

}  // namespace whet
