#pragma once
// LayerNorm with a bias (GPT-2): out = (inp − mean) / sqrt(var + eps) · weight + bias,
// per row, var the biased variance (as torch.nn.LayerNorm).
#include <cstdint>

namespace whet {

// out, inp are (n, c); weight, bias (c). mean and rstd (n) receive each row's
// mean and 1/sqrt(var + eps) for the backward pass (both null, or both given).
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int64_t n, int64_t c, float eps);
// dinp = (n, c); dweight and dbias (c) += when not null (a frozen norm has none).
// mean and rstd are the forward's.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t n, int64_t c);

}  // namespace whet
