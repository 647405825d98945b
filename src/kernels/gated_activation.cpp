#include "kernels/gated_activation.h"

#include <cmath>

#include "core/dtype.h"
#include "core/phase_timer.h"
#include "kernels/vector_exp.h"

namespace whet {

namespace {

constexpr float kGeluCubic = 0.044715f;
constexpr double kSqrt2OverPi = 0.7978845608028654;

struct ValueAndSlope {
  float value, slope;
};

// silu'(x) = sigmoid(x)·(1 + x·(1 − sigmoid(x))).
inline ValueAndSlope silu(float x) {
  const float sig = 1.0f / (1.0f + vector_exp(-x));
  return {x * sig, sig * (1.0f + x * (1.0f - sig))};
}

// tanh(u) = 1 − 2/(e^{2u} + 1), which saturates cleanly at ±1 for large |u|;
// gelu'(x) = (1 + tanh u)/2 + x/2·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²).
inline ValueAndSlope gelu_tanh(float x) {
  const float c = float(kSqrt2OverPi);
  const float u = c * (x + kGeluCubic * x * x * x);
  const float th = 1.0f - 2.0f / (vector_exp(2.0f * u) + 1.0f);
  return {0.5f * x * (1.0f + th),
          0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * c * (1.0f + 3.0f * kGeluCubic * x * x)};
}

// With kRounded, each output's bf16 rounding too, for the products that take it
// (written while the value is at hand: a pass of its own read it back from memory).
template <ValueAndSlope (*Act)(float), bool kRounded>
void gate_forward(float* out, uint16_t* out_bf16, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = Act(gate[i]).value * up[i];
    if constexpr (kRounded) out_bf16[i] = f32_to_bf16(out[i]);
  }
}

template <ValueAndSlope (*Act)(float), bool kRounded>
void gate_backward(float* dgate, float* dup, uint16_t* dgate_bf16, uint16_t* dup_bf16, const float* dout,
                   const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const ValueAndSlope a = Act(gate[i]);
    dup[i] = dout[i] * a.value;
    dgate[i] = dout[i] * up[i] * a.slope;
    if constexpr (kRounded) dup_bf16[i] = f32_to_bf16(dup[i]), dgate_bf16[i] = f32_to_bf16(dgate[i]);
  }
}

template <ValueAndSlope (*Act)(float)>
void plain_forward(float* out, const float* inp, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) out[i] = Act(inp[i]).value;
}

template <ValueAndSlope (*Act)(float)>
void plain_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) dinp[i] = dout[i] * Act(inp[i]).slope;
}

}  // namespace

void gated_activation_forward(GateActivation act, float* out, const float* gate, const float* up, int64_t n,
                              uint16_t* out_bf16) {
  const PhaseScope phase("activation forward");
  const bool silu_gate = act == GateActivation::Silu;
  if (out_bf16)
    return silu_gate ? gate_forward<silu, true>(out, out_bf16, gate, up, n)
                     : gate_forward<gelu_tanh, true>(out, out_bf16, gate, up, n);
  silu_gate ? gate_forward<silu, false>(out, nullptr, gate, up, n)
            : gate_forward<gelu_tanh, false>(out, nullptr, gate, up, n);
}

void gated_activation_backward(GateActivation act, float* dgate, float* dup, const float* dout, const float* gate,
                               const float* up, int64_t n, uint16_t* dgate_bf16, uint16_t* dup_bf16) {
  const PhaseScope phase("activation backward");
  const bool silu_gate = act == GateActivation::Silu;
  if (dgate_bf16 && dup_bf16)
    return silu_gate ? gate_backward<silu, true>(dgate, dup, dgate_bf16, dup_bf16, dout, gate, up, n)
                     : gate_backward<gelu_tanh, true>(dgate, dup, dgate_bf16, dup_bf16, dout, gate, up, n);
  silu_gate ? gate_backward<silu, false>(dgate, dup, nullptr, nullptr, dout, gate, up, n)
            : gate_backward<gelu_tanh, false>(dgate, dup, nullptr, nullptr, dout, gate, up, n);
}

void activation_forward(GateActivation act, float* out, const float* inp, int64_t n) {
  const PhaseScope phase("activation forward");
  if (act == GateActivation::Silu) return plain_forward<silu>(out, inp, n);
  plain_forward<gelu_tanh>(out, inp, n);
}

void activation_backward(GateActivation act, float* dinp, const float* dout, const float* inp, int64_t n) {
  const PhaseScope phase("activation backward");
  if (act == GateActivation::Silu) return plain_backward<silu>(dinp, dout, inp, n);
  plain_backward<gelu_tanh>(dinp, dout, inp, n);
}

double gate_activation_reference(GateActivation act, double x) {
  if (act == GateActivation::Silu) return x / (1.0 + std::exp(-x));
  return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + double(kGeluCubic) * x * x * x)));
}

double gate_activation_derivative_reference(GateActivation act, double x) {
  if (act == GateActivation::Silu) {
    const double sig = 1.0 / (1.0 + std::exp(-x));
    return sig * (1.0 + x * (1.0 - sig));
  }
  const double th = std::tanh(kSqrt2OverPi * (x + double(kGeluCubic) * x * x * x));
  return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * kSqrt2OverPi * (1.0 + 3.0 * double(kGeluCubic) * x * x);
}

}  // namespace whet
