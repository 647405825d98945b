// Optimised matrix kernels against their plain references.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/quant.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::max_abs_diff;
using test::random_values;

struct GemmCase {
  bool trans_a, trans_b;
  int64_t m, n, k;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

GemmShape shape_of(const GemmCase& c, float alpha, float beta) {
  return GemmShape{c.trans_a, c.trans_b, c.m, c.n, c.k, c.trans_a ? c.m : c.k, c.trans_b ? c.k : c.n, c.n, alpha, beta};
}

// `values` rounded to bf16: the bits, and `values` left holding what they hold
// (so the fp32 reference multiplies exactly what the bf16 product does).
std::vector<uint16_t> round_in_place(std::vector<float>& values) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = bf16_to_f32(bits[i] = f32_to_bf16(values[i]));
  return bits;
}

// fp32 accumulation over k terms of unit-variance products: error grows like sqrt(k) * eps * |terms|;
// 1e-4 absolute on k <= 300 leaves a wide margin.
TEST_P(GemmTest, F32MatchesReference) {
  const GemmCase c = GetParam();
  const GemmShape s = shape_of(c, 0.5f, 0.25f);
  const auto a = random_values(c.m * c.k, 1), b = random_values(c.k * c.n, 2), c0 = random_values(c.m * c.n, 3);
  std::vector<float> got = c0, want = c0;
  gemm_f32(s, a.data(), b.data(), got.data());
  gemm_reference(s, a.data(), b.data(), want.data());
  EXPECT_LT(max_abs_diff(got, want), 1e-4f);
}

// bf16 inputs are exact in the reference too (rounded first), so only the fp32
// accumulation order differs: same bound as fp32.
TEST_P(GemmTest, Bf16MatchesReferenceOnRoundedInputs) {
  const GemmCase c = GetParam();
  const GemmShape s = shape_of(c, 1.0f, 0.0f);
  auto a = random_values(c.m * c.k, 4), b = random_values(c.k * c.n, 5);
  const std::vector<uint16_t> a16 = round_in_place(a), b16 = round_in_place(b);
  std::vector<float> got(c.m * c.n), want(c.m * c.n);
  gemm_bf16(s, a16.data(), b16.data(), got.data());
  gemm_reference(s, a.data(), b.data(), want.data());
  EXPECT_LT(max_abs_diff(got, want), 1e-4f);
}

// op(B) laid out once by pack_bf16 gives the product of B as stored, through
// accumulation (beta 1) too; on a CPU without bf16 matmul there is nothing to pack.
TEST_P(GemmTest, Bf16WithPackedOperandMatchesReference) {
  const GemmCase c = GetParam();
  const GemmShape s = shape_of(c, 1.0f, 1.0f);
  auto a = random_values(c.m * c.k, 11), b = random_values(c.k * c.n, 12);
  const std::vector<uint16_t> a16 = round_in_place(a);
  std::vector<uint16_t> b16 = round_in_place(b);
  const std::shared_ptr<const PackedBf16> packed = pack_bf16(s.trans_b, s.k, s.n, b16.data(), s.ldb);
  ASSERT_EQ(packed != nullptr, cpu_has_bf16_units());
  if (!packed) return;
  std::fill(b16.begin(), b16.end(), f32_to_bf16(1e6f));  // the product must read the packed copy
  const auto c0 = random_values(c.m * c.n, 13);
  std::vector<float> got = c0, want = c0;
  gemm_bf16(s, a16.data(), b16.data(), got.data(), packed.get());
  gemm_reference(s, a.data(), b.data(), want.data());
  EXPECT_LT(max_abs_diff(got, want), 1e-4f);
}

// Threads running one cached bf16 matmul at once, each on its own operands, get
// their own products: the transposed-A shape below is one oneDNN stages through
// a scratchpad, which it would share between the threads unless each passes its
// own (tiled attention's heads ran this way and got garbage before they did).
TEST(Gemm, Bf16FromSeveralThreadsAtOnce) {
  const GemmShape s{true, false, 64, 64, 512, 64, 64, 64, 1.0f, 0.0f};
  constexpr int kThreads = 4, kRepeats = 20;
  std::vector<std::vector<float>> a(kThreads), b(kThreads), want(kThreads);
  std::vector<std::vector<uint16_t>> a16(kThreads), b16(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    a[t] = random_values(s.k * s.m, 10 + t), b[t] = random_values(s.k * s.n, 20 + t);
    a16[t] = round_in_place(a[t]), b16[t] = round_in_place(b[t]);
    want[t].resize(size_t(s.m * s.n));
    gemm_reference(s, a[t].data(), b[t].data(), want[t].data());
  }
  float worst = 0.0f;
#pragma omp parallel for num_threads(kThreads) schedule(static, 1) reduction(max : worst)
  for (int i = 0; i < kThreads * kRepeats; ++i) {
    const int t = i % kThreads;
    std::vector<float> c(want[t].size());
    gemm_bf16(s, a16[t].data(), b16[t].data(), c.data());
    worst = std::max(worst, max_abs_diff(c, want[t]));
  }
  EXPECT_LT(worst, 1e-4f);
}

// Rows of A and C that sit inside wider matrices (a head's slice of the queries),
// on the small-product path that reads A's rows in place and on oneDNN's.
TEST(Gemm, F32ReadsAndWritesRowsWithinWiderMatrices) {
  for (const int64_t m : {2, 9}) {
    const int64_t n = 24, k = 40, lda = k + 7, ldc = n + 3;
    const GemmShape s{false, true, m, n, k, lda, k, ldc, 1.0f, 1.0f};
    const auto a = random_values(m * lda, 6), b = random_values(n * k, 7), c0 = random_values(m * ldc, 8);
    std::vector<float> got = c0, want = c0;
    gemm_f32(s, a.data(), b.data(), got.data());
    gemm_reference(s, a.data(), b.data(), want.data());
    EXPECT_LT(max_abs_diff(got, want), 1e-4f) << m << " rows";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{false, false, 7, 13, 32}, GemmCase{false, true, 1, 64, 96},
                                           GemmCase{true, false, 33, 17, 5}, GemmCase{true, true, 16, 16, 300},
                                           GemmCase{false, true, 64, 96, 128},
                                           // a few rows: the small-product path, in every layout
                                           GemmCase{false, false, 1, 40, 64}, GemmCase{true, false, 3, 40, 64},
                                           GemmCase{true, true, 4, 33, 70}, GemmCase{false, true, 2, 7, 300}));

// linear_forward for the float encodings, on both of its paths (few rows: row-wise
// decode; many: gemm). Quantized weights: test_quant_dot.cpp.
class LinearTest : public ::testing::TestWithParam<std::tuple<DType, int64_t>> {};

TEST_P(LinearTest, MatchesReference) {
  const auto [dtype, m] = GetParam();
  const int64_t rows = 48, cols = 256;
  const auto values = random_values(rows * cols, 6);
  std::vector<uint8_t> encoded(dtype_bytes(dtype, rows * cols));
  quantize(dtype, values.data(), encoded.data(), rows * cols);
  Weight w{dtype, rows, cols, encoded.data(), nullptr};
  const auto x = random_values(m * cols, 7);
  std::vector<float> got(m * rows), want(m * rows);
  linear_forward(got.data(), x.data(), m, w);
  linear_forward_reference(want.data(), x.data(), m, w);
  // bf16 weights meet bf16-rounded activations in the fast path but not in the
  // reference: relative error 2^-8 per product, about 16 * 2^-8 * sqrt(256) worst case.
  const float tolerance = dtype == DType::BF16 ? 0.3f : 1e-3f;
  EXPECT_LT(max_abs_diff(got, want), tolerance) << dtype_name(dtype) << " m=" << m;
}

INSTANTIATE_TEST_SUITE_P(Encodings, LinearTest,
                         ::testing::Combine(::testing::Values(DType::F32, DType::F16, DType::BF16),
                                            ::testing::Values(int64_t(1), int64_t(3), int64_t(40))));

// Weights multiplied together with one input (a layer's q, k and v) give exactly
// what each gives alone, on every path: tiles shared by Q4_1 weights from 5 rows,
// each weight alone otherwise (fewer rows, mixed encodings, fp32).
TEST(Linear, ProductsTogetherEqualEachAlone) {
  const int64_t cols = 256;
  for (const DType second : {DType::Q4_1, DType::Q8_0, DType::F32})
    for (const int64_t m : {int64_t(3), int64_t(16), int64_t(37)}) {
      const std::vector<std::pair<DType, int64_t>> shapes{{DType::Q4_1, 48}, {second, 16}, {DType::Q4_1, 70}};
      std::vector<std::vector<uint8_t>> encoded;
      std::vector<Weight> weights;
      for (const auto& [dtype, rows] : shapes) {
        if (dtype != DType::F32) {
          encoded.push_back(test::random_quantized_rows(dtype, rows, cols, uint32_t(rows)));
          continue;
        }
        const auto values = random_values(rows * cols, uint32_t(rows));
        encoded.emplace_back(dtype_bytes(dtype, rows * cols));
        std::memcpy(encoded.back().data(), values.data(), encoded.back().size());
      }
      for (size_t i = 0; i < shapes.size(); ++i)
        weights.push_back(Weight{shapes[i].first, shapes[i].second, cols, encoded[i].data(), nullptr});
      const auto x = random_values(m * cols, 9);
      std::vector<std::vector<float>> together, alone;
      std::vector<WeightProduct> products;
      for (const Weight& w : weights) {
        together.emplace_back(size_t(m * w.rows), -1.0f);
        alone.emplace_back(size_t(m * w.rows));
        linear_forward(alone.back().data(), x.data(), m, w);
      }
      for (size_t i = 0; i < weights.size(); ++i) products.push_back({together[i].data(), &weights[i]});
      linear_forward(products, x.data(), m);
      for (size_t i = 0; i < weights.size(); ++i)
        EXPECT_EQ(together[i], alone[i]) << "weight " << i << ", second " << dtype_name(second) << ", m " << m;
    }
}

// A weight packed for its input gradients gives them as before, on both of the
// products that take it: dout already rounded (LoRA's) and dout in fp32 (the LM head's).
TEST(Linear, InputGradientsFromAPackedWeightAreTheSame) {
  const int64_t rows = 96, cols = 160, m = 37;
  const auto values = random_values(rows * cols, 14);
  std::vector<uint16_t> encoded(size_t(rows * cols));
  quantize(DType::BF16, values.data(), reinterpret_cast<uint8_t*>(encoded.data()), rows * cols);
  const Weight plain{DType::BF16, rows, cols, reinterpret_cast<const uint8_t*>(encoded.data()), nullptr};
  Weight packed = plain;
  pack_for_input_gradients(packed);
  ASSERT_EQ(packed.packed_for_input_gradients != nullptr, cpu_has_bf16_units());
  if (!cpu_has_bf16_units()) return;
  const auto dout = random_values(m * rows, 15), dinp0 = random_values(m * cols, 16);
  const std::unique_ptr<uint16_t[]> dout16 = whet::rounded_to_bf16(dout.data(), m * rows);
  for (const bool accumulate : {false, true}) {
    std::vector<float> want = dinp0, got = dinp0;
    linear_backward(want.data(), nullptr, {dout.data(), dout16.get()}, nullptr, m, plain, accumulate);
    linear_backward(got.data(), nullptr, {dout.data(), dout16.get()}, nullptr, m, packed, accumulate);
    EXPECT_LT(max_abs_diff(got, want), 1e-4f) << "accumulate " << accumulate;
    want = dinp0, got = dinp0;
    linear_backward(want.data(), nullptr, dout.data(), nullptr, m, plain, accumulate);
    linear_backward(got.data(), nullptr, dout.data(), nullptr, m, packed, accumulate);
    EXPECT_LT(max_abs_diff(got, want), 1e-4f) << "fp32 dout, accumulate " << accumulate;
  }
}

}  // namespace
}  // namespace whet
