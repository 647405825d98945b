#include "kernels/gated_activation.h"

#include <cmath>

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

template <ValueAndSlope (*Act)(float)>
void gate_forward(float* out, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) out[i] = Act(gate[i]).value * up[i];
}

template <ValueAndSlope (*Act)(float)>
void gate_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const ValueAndSlope a = Act(gate[i]);
    dup[i] = dout[i] * a.value;
    dgate[i] = dout[i] * up[i] * a.slope;
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

void gated_activation_forward(GateActivation act, float* out, const float* gate, const float* up, int64_t n) {
  const PhaseScope phase("activation forward");
  if (act == GateActivation::Silu) return gate_forward<silu>(out, gate, up, n);
  gate_forward<gelu_tanh>(out, gate, up, n);
}

void gated_activation_backward(GateActivation act, float* dgate, float* dup, const float* dout, const float* gate,
                               const float* up, int64_t n) {
  const PhaseScope phase("activation backward");
  if (act == GateActivation::Silu) return gate_backward<silu>(dgate, dup, dout, gate, up, n);
  gate_backward<gelu_tanh>(dgate, dup, dout, gate, up, n);
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
