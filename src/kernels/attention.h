#pragma once
// Causal grouped-query attention over a key/value history, forward and backward.
// Query heads share key/value heads in groups of heads / kv_heads. The score
// matrix is never stored: the forward keeps one log-sum-exp per query row and
// the backward recomputes probabilities from it.
#include <cstdint>

namespace whet {

struct AttentionShape {
  int64_t t = 0;         // new query positions
  int64_t start = 0;     // position of the first query; keys cover [0, start + t)
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  // Optional (t): first key that query i may see (packed training sequences
  // keep attention inside each example). Null: every earlier key.
  const int32_t* segment_begin = nullptr;
  // Optional (t): query i also sees keys [0, prefix_end[i]), a prefix its segment
  // continues without repeating it (a preference pair's prompt, shared by its
  // second answer); 0: none. Needs segment_begin, and prefix_end[i] <= segment_begin[i].
  const int32_t* prefix_end = nullptr;
  // Scores are q·k times this; 0 means 1/sqrt(head_dim).
  float scale = 0.0f;
  // Sliding window: query i sees only keys fewer than `window` positions back
  // (distance < window; its own key is distance 0). Positions run on through a
  // prefix into the segment that continues it. 0: no window.
  int64_t window = 0;
  // Scaled scores s become softcap·tanh(s / softcap) before the mask and softmax
  // (kernels/softcap.h; Gemma 2-style configs). 0: none.
  float softcap = 0.0f;
  // Multiply in bf16 with fp32 sums, as a model whose weights are bf16 does: q, k, v,
  // dout, the probabilities and the score gradients are rounded to bf16 before each
  // product; softmax, its statistics and the outputs stay fp32.
  bool bf16_products = false;
  // Where the CPU has bf16 units and head_dim is a multiple of 32, those products run
  // on packed tiles (kernels/bf16_tiles.h: AMX, else AVX512_BF16 dot products); false
  // keeps them on oneDNN (tests pin each path).
  bool tile_products = true;
};

// out and q are (t, heads, head_dim); k and v are (start + t, kv_heads, head_dim).
// Query i sees keys [0, prefix_end[i]) and segment_begin[i] ..= start + i, within the window.
// lse (t, heads), if not null, receives each row's log-sum-exp of scaled (and capped) scores for the backward.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttentionShape& s);

// The same with k and v as IEEE half, a KV cache of F16: a decode step's few
// queries read them as they lie (half the memory traffic of fp32), longer
// queries widen the history to fp32 first.
void attention_forward_f16_kv(float* out, float* lse, const float* q, const uint16_t* k, const uint16_t* v,
                              const AttentionShape& s);

// Training shapes only (start == 0). dq = ; dk, dv += (they may already hold
// gradients from elsewhere, e.g. nothing, but the rule is kept uniform).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, const AttentionShape& s);

// Plain versions that materialise every score, the references for the tests.
void attention_forward_reference(float* out, const float* q, const float* k, const float* v, const AttentionShape& s);
void attention_backward_reference(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                  const float* v, const AttentionShape& s);

}  // namespace whet
