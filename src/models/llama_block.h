#pragma once
// One Llama decoder block, forward and backward, shared by inference (one set
// of buffers reused for every layer, keys and values in the KV caches of one or
// several sequences) and training (a set of buffers per layer, kept for the backward pass).
#include <array>
#include <vector>

#include "kernels/attention.h"
#include "kernels/lora.h"
#include "models/llama.h"
#include "models/lora_adapter.h"

namespace whet {

// Views of one block's activations, rows of t positions. In inference x_in,
// x_mid and x_out may be one buffer (the residual stream updated in place).
struct BlockActivations {
  float* x_in = nullptr;       // (t, hidden) residual stream entering the block
  float* h_attn = nullptr;     // (t, hidden) attention norm output
  float* mean_attn = nullptr;  // (t) or null: LayerNorm's row means
  float* rstd_attn = nullptr;  // (t) or null
  float* q_raw = nullptr;      // (t, heads * head_dim) projection (+ bias) before the q/k norm (qk_norm only)
  float* k_raw = nullptr;      // (t, kv_heads * head_dim)
  float* rstd_q = nullptr;     // (t, heads) or null
  float* rstd_k = nullptr;     // (t, kv_heads) or null
  float* q = nullptr;          // (t, heads * head_dim), after rope
  float* k = nullptr;          // (t, kv_heads * head_dim), after rope; then placed in each segment's k
  float* v = nullptr;          // (t, kv_heads * head_dim)
  float* att = nullptr;        // (t, heads * head_dim) attention output
  float* lse = nullptr;        // (t, heads) or null
  float* x_mid = nullptr;      // (t, hidden) residual stream after attention
  float* h_ffn = nullptr;      // (t, hidden)
  float* mean_ffn = nullptr;   // (t) or null: LayerNorm's row means
  float* rstd_ffn = nullptr;   // (t) or null
  float* gate = nullptr;       // (t, intermediate); null without a gate
  float* up = nullptr;         // (t, intermediate) (+ bias)
  float* act = nullptr;        // (t, intermediate) act(gate) * up, or act(up) ungated
  float* proj = nullptr;       // (t, hidden) scratch for the o and down projections (normed, with sandwich norms)
  float* attn_raw = nullptr;   // (t, hidden) o projection before its norm (sandwich_norms only)
  float* ffn_raw = nullptr;    // (t, hidden) down projection before its norm (sandwich_norms only)
  float* rstd_post_attn = nullptr;  // (t) or null
  float* rstd_post_ffn = nullptr;   // (t) or null
  float* x_out = nullptr;      // (t, hidden)
  std::array<float*, kProjections> lora_hidden{};  // (t, rank) per adapted projection
};

// The rows of one sequence within a block's activations. Their new keys and
// values join the sequence's history in k/v before its queries attend to it.
struct AttentionSegment {
  AttentionShape shape;  // shape.t rows at positions shape.start onward
  float* k = nullptr;    // (shape.start + shape.t, kv_heads * head_dim): a KV cache layer in inference;
  float* v = nullptr;    // in training BlockActivations::k/v themselves, the history being the rows
  uint16_t* k_f16 = nullptr;  // instead of k and v: a KV cache layer of F16 (KvCache)
  uint16_t* v_f16 = nullptr;
};

struct BlockContext {
  const LlamaModel* model = nullptr;
  int layer = 0;
  // Consecutive row groups, in row order, covering the block's rows: one per
  // sequence when inference runs several together, one in training. Projections
  // run over all rows at once; attention runs per segment.
  std::vector<AttentionSegment> segments;
  const int32_t* positions = nullptr;  // (t) position of every row (rope's, or the position embedding's)
  std::array<LoraView, kProjections> lora{};
  bool bf16_products = false;  // TrainPass::bf16_products

  int64_t rows() const;  // t: the segments' rows together
};

void llama_block_forward(const BlockContext& ctx, const BlockActivations& a);

// x (t, hidden) = the embeddings of ids, times the family's embedding scale, plus
// the position embeddings of `positions` (learned_positions); and its backward into
// the gradients of the embeddings that train (dx is scaled in place).
void embed_tokens(const LlamaModel& model, const int32_t* ids, const int32_t* positions, int64_t t, float* x);
void embed_tokens_backward(const LlamaModel& model, LlamaWeights& grads, float* dx, const int32_t* ids,
                           const int32_t* positions, int64_t t);

// The config's norm over n rows of hidden values: RMSNorm, or LayerNorm with its
// bias; mean and rstd (n) keep the statistics for the backward (null: not kept;
// RMSNorm keeps no mean). The backward adds into dweight and dbias where not null.
void norm_forward(const LlamaConfig& c, float* out, float* mean, float* rstd, const float* inp, const Weight& weight,
                  const Weight& bias, int64_t n);
void norm_backward(const LlamaConfig& c, float* dinp, float* dweight, float* dbias, const float* dout,
                   const float* inp, const Weight& weight, const float* mean, const float* rstd, int64_t n);

// Gradient buffers of one block's backward, (t, ·) each, reused across layers.
struct BlockGradScratch {
  std::vector<float> h, tmp, branch, q, k, v, q_raw, k_raw, att, gate, up, act;
  BlockGradScratch(const LlamaConfig& c, int64_t t);
  static int64_t floats(const LlamaConfig& c, int64_t t);  // all of them together, for the memory estimates
};

// The bytes of the bf16 roundings a block keeps per thread for t rows, where its
// products multiply in bf16 (q/k/v's and gate/up's inputs, the activation, and
// the gate and up gradients), for the memory estimates.
int64_t block_bf16_scratch_bytes(const LlamaConfig& c, int64_t t);

// dx: in, the gradient of x_out; out, the gradient of x_in. grads: the layer's
// weight gradients (a Weight with null data is frozen), or null when no base weight trains.
void llama_block_backward(const BlockContext& ctx, const BlockActivations& a, float* dx, LlamaLayer* grads,
                          BlockGradScratch& s);

// Gradient storage of a Weight made by make_gradients (null when frozen).
float* grad_data(const Weight& g);

}  // namespace whet
