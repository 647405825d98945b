// The MLP's activations (SiLU and tanh GELU), gated and ungated, and their
// derivatives against the double-precision formulas, and against values worked out by
// hand; the gated ones' bf16 copies against their fp32 outputs rounded.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/gated_activation.h"

namespace whet {
namespace {

// Float32 evaluation of smooth functions of inputs in [-8, 8]: 1e-5 relative to max(1, |value|).
TEST(GatedActivation, ForwardAndBackwardMatchTheFormulas) {
  std::vector<float> gate, up, dout;
  for (int i = 0; i <= 320; ++i) {
    gate.push_back(-8.0f + 0.05f * float(i));
    up.push_back(0.5f + 0.01f * float(i % 7));
    dout.push_back(1.0f - 0.002f * float(i));
  }
  const int64_t n = int64_t(gate.size());
  for (GateActivation act : {GateActivation::Silu, GateActivation::GeluTanh}) {
    std::vector<float> out(gate.size()), dgate(gate.size()), dup(gate.size());
    gated_activation_forward(act, out.data(), gate.data(), up.data(), n);
    gated_activation_backward(act, dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double value = gate_activation_reference(act, gate[i]);
      const double slope = gate_activation_derivative_reference(act, gate[i]);
      EXPECT_NEAR(out[i], value * up[i], 1e-5 * std::max(1.0, std::fabs(value))) << gate[i];
      EXPECT_NEAR(dup[i], dout[i] * value, 1e-5 * std::max(1.0, std::fabs(value))) << gate[i];
      EXPECT_NEAR(dgate[i], dout[i] * up[i] * slope, 1e-5) << gate[i];
    }
  }
}

// The ungated MLP (GPT-2): out = act(inp), dinp = dout·act'(inp), over the same range.
TEST(GatedActivation, UngatedMatchesTheFormulas) {
  std::vector<float> inp, dout;
  for (int i = 0; i <= 320; ++i) {
    inp.push_back(-8.0f + 0.05f * float(i));
    dout.push_back(1.0f - 0.002f * float(i));
  }
  const int64_t n = int64_t(inp.size());
  for (GateActivation act : {GateActivation::Silu, GateActivation::GeluTanh}) {
    std::vector<float> out(inp.size()), dinp(inp.size());
    activation_forward(act, out.data(), inp.data(), n);
    activation_backward(act, dinp.data(), dout.data(), inp.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double value = gate_activation_reference(act, inp[i]);
      EXPECT_NEAR(out[i], value, 1e-5 * std::max(1.0, std::fabs(value))) << inp[i];
      EXPECT_NEAR(dinp[i], dout[i] * gate_activation_derivative_reference(act, inp[i]), 1e-5) << inp[i];
    }
  }
  // gelu_tanh(1) (below) and its slope at 0, which is 1/2.
  float one = 1.0f, zero = 0.0f, value = 0.0f, slope = 0.0f;
  activation_forward(GateActivation::GeluTanh, &value, &one, 1);
  activation_backward(GateActivation::GeluTanh, &slope, &one, &zero, 1);
  EXPECT_NEAR(value, 0.8411920f, 1e-6);
  EXPECT_NEAR(slope, 0.5f, 1e-7);
}

// gelu_tanh(1) = 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.5·(1 + tanh(0.8335620)) = 0.8411920;
// silu(1) = 1/(1 + e^-1) = 0.7310586. The derivative by central differences of the reference.
TEST(GatedActivation, ValuesWorkedByHand) {
  EXPECT_NEAR(gate_activation_reference(GateActivation::GeluTanh, 1.0), 0.8411920, 1e-6);
  EXPECT_NEAR(gate_activation_reference(GateActivation::Silu, 1.0), 0.7310586, 1e-6);
  for (GateActivation act : {GateActivation::Silu, GateActivation::GeluTanh}) {
    for (double x : {-3.0, -0.5, 0.0, 0.7, 2.5}) {
      const double h = 1e-5;
      const double numeric = (gate_activation_reference(act, x + h) - gate_activation_reference(act, x - h)) / (2 * h);
      EXPECT_NEAR(gate_activation_derivative_reference(act, x), numeric, 1e-8) << x;
    }
  }
}

// The bf16 copies made in the same pass are the fp32 outputs rounded, bit for bit,
// and the fp32 outputs are those of the pass without them.
TEST(GatedActivation, Bf16CopiesAreTheOutputsRounded) {
  std::vector<float> gate, up, dout;
  for (int i = 0; i <= 70000; ++i) {  // past the size that splits the pass among threads
    gate.push_back(-8.0f + 0.00023f * float(i));
    up.push_back(0.5f + 0.013f * float(i % 7));
    dout.push_back(1.0f - 0.00003f * float(i));
  }
  const int64_t n = int64_t(gate.size());
  auto rounded = [](const std::vector<float>& x) {
    std::vector<uint16_t> out;
    for (const float v : x) out.push_back(f32_to_bf16(v));
    return out;
  };
  for (GateActivation act : {GateActivation::Silu, GateActivation::GeluTanh}) {
    std::vector<float> out(gate.size()), out_alone(gate.size()), dgate(gate.size()), dup(gate.size());
    std::vector<float> dgate_alone(gate.size()), dup_alone(gate.size());
    std::vector<uint16_t> out16(gate.size()), dgate16(gate.size()), dup16(gate.size());
    gated_activation_forward(act, out.data(), gate.data(), up.data(), n, out16.data());
    gated_activation_forward(act, out_alone.data(), gate.data(), up.data(), n);
    gated_activation_backward(act, dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), n, dgate16.data(),
                              dup16.data());
    gated_activation_backward(act, dgate_alone.data(), dup_alone.data(), dout.data(), gate.data(), up.data(), n);
    EXPECT_EQ(out, out_alone);
    EXPECT_EQ(dgate, dgate_alone);
    EXPECT_EQ(dup, dup_alone);
    EXPECT_EQ(out16, rounded(out));
    EXPECT_EQ(dgate16, rounded(dgate));
    EXPECT_EQ(dup16, rounded(dup));
  }
}

}  // namespace
}  // namespace whet
