#pragma once
// Causal grouped-query attention over a key/value history.
// Query heads share key/value heads in groups of heads / kv_heads.
#include <cstdint>

namespace whet {

struct AttentionShape {
  int64_t t = 0;         // new query positions
  int64_t start = 0;     // position of the first query; keys cover [0, start + t)
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

// out and q are (t, heads, head_dim); k and v are (start + t, kv_heads, head_dim).
// Query i sees keys 0 ..= start + i. Scale is 1/sqrt(head_dim).
void attention_forward(float* out, const float* q, const float* k, const float* v, const AttentionShape& s);

}  // namespace whet
