#pragma once
// SwiGLU gate of the Llama MLP: out = silu(gate) * up, silu(x) = x * sigmoid(x).
#include <cstdint>

namespace whet {

// out, gate, up are (n)
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
// dgate, dup = (n); silu'(x) = sigmoid(x) * (1 + x * (1 - sigmoid(x))).
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

}  // namespace whet
