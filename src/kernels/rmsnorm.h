#pragma once
// RMSNorm: out = inp / sqrt(mean(inp²) + eps) * weight, per row.
#include <cstdint>

namespace whet {

// out, inp are (n, c); weight is (c); rstd (n) receives 1/rms per row for the backward pass (may be null).
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t n, int64_t c,
                     float eps);
// dinp = (n, c); dweight (c) += when not null (a frozen norm has none). rstd is the forward's.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t n, int64_t c);

}  // namespace whet
