#pragma once
// Token embedding lookup and its gradient.
#include <cstdint>

#include "kernels/weight.h"

namespace whet {

// out (n, w.cols) = rows tokens[i] of w (decoded from any encoding).
void embedding_forward(float* out, const int32_t* tokens, int64_t n, const Weight& w);
// dweight (vocab, c) += dout rows at their tokens; a token seen twice gets both.
void embedding_backward(float* dweight, const float* dout, const int32_t* tokens, int64_t n, int64_t c);

}  // namespace whet
