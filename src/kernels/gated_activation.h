#pragma once
// The activation of an MLP: gated, out = act(gate) * up, with act SiLU (SwiGLU:
// Llama, Qwen2, Mistral) or tanh-approximated GELU (GeGLU: Gemma); or ungated,
// out = act(up) (GPT-2's tanh GELU, "gelu_new").
#include <cstdint>

namespace whet {

// silu(x) = x·sigmoid(x); gelu_tanh(x) = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as
// PyTorch's gelu(approximate="tanh") and Hugging Face's gelu_pytorch_tanh.
enum class GateActivation { Silu, GeluTanh };

// out, gate, up are (n); out_bf16, if not null, receives out rounded to bf16 (for
// a product that multiplies in bf16: the down projection's).
void gated_activation_forward(GateActivation act, float* out, const float* gate, const float* up, int64_t n,
                              uint16_t* out_bf16 = nullptr);
// dgate, dup = (n), from dout and the forward's inputs; the bf16 outputs, if not
// null, receive them rounded.
void gated_activation_backward(GateActivation act, float* dgate, float* dup, const float* dout, const float* gate,
                               const float* up, int64_t n, uint16_t* dgate_bf16 = nullptr,
                               uint16_t* dup_bf16 = nullptr);
// The ungated MLP: out = act(inp), (n) each; dinp = dout · act'(inp).
void activation_forward(GateActivation act, float* out, const float* inp, int64_t n);
void activation_backward(GateActivation act, float* dinp, const float* dout, const float* inp, int64_t n);
// act(x) and act'(x) in double: the reference of the kernels.
double gate_activation_reference(GateActivation act, double x);
double gate_activation_derivative_reference(GateActivation act, double x);

}  // namespace whet
