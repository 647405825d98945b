// Dot products that decode quantized weights in registers, against decoding
// them first and summing in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/quant.h"
#include "kernels/linear.h"
#include "kernels/quant_dot.h"
#include "random_tensors.h"

namespace whet {
namespace {

// Rows of random blocks: random level bytes, scales and minimums of realistic size.
std::vector<uint8_t> random_rows(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const DTypeInfo& info = dtype_info(type);
  std::vector<uint8_t> bytes(dtype_bytes(type, rows * cols));
  for (uint8_t& b : bytes) b = uint8_t(rng());
  for (size_t at = 0; at < bytes.size(); at += size_t(info.block_bytes)) {
    const uint16_t d = f32_to_f16(scale(rng)), m = f32_to_f16(scale(rng));
    // Q6_K keeps its d last; Q4_K and Q5_K their dmin second, as Q4_1 and Q5_1 their minimum.
    std::memcpy(&bytes[at + (type == DType::Q6_K ? 208 : 0)], &d, 2);
    if (type == DType::Q4_1 || type == DType::Q5_1 || type == DType::Q4_K || type == DType::Q5_K)
      std::memcpy(&bytes[at + 2], &m, 2);
  }
  return bytes;
}

// Only the summation order differs from the reference: fp32 rounding of a sum of
// n products is bounded by about n·2^-24·Σ|w·x| (1e-5 relative at the least).
double tolerance(const std::vector<float>& w, const float* x) {
  double magnitude = 0;
  for (size_t j = 0; j < w.size(); ++j) magnitude += std::fabs(double(w[j]) * x[j]);
  return std::max(1e-5, double(w.size()) * 0x1p-24) * magnitude + 1e-6;
}

bool is_k_quant(DType type) { return dtype_info(type).block_elems == 256; }

class QuantDotTest : public ::testing::TestWithParam<DType> {};

// Rows of 1, 3, 5 and 18 blocks: odd counts leave a block after the loop that takes two at a time
// (the K-quants: 1, 2 and 6 super-blocks of 256). The reference decodes block by block; the
// whole row decoded at once must give the same sum.
TEST_P(QuantDotTest, FusedDotMatchesDecodedReference) {
  const DType type = GetParam();
  const std::vector<int64_t> widths =
      is_k_quant(type) ? std::vector<int64_t>{256, 512, 1536} : std::vector<int64_t>{32, 96, 160, 576};
  for (const int64_t cols : widths) {
    const int64_t rows = 16;
    const auto weights = random_rows(type, rows, cols, uint32_t(cols));
    const auto x = test::random_values(cols, 2);
    const auto sums = activation_block_sums(x.data(), cols);
    const size_t row_bytes = dtype_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = weights.data() + size_t(r) * row_bytes;
      std::vector<float> w(static_cast<size_t>(cols));
      dequantize(type, row, w.data(), cols);
      double decoded_dot = 0;
      for (int64_t j = 0; j < cols; ++j) decoded_dot += double(w[size_t(j)]) * x[size_t(j)];
      const double reference = fused_dot_reference(type, row, x.data(), cols);
      EXPECT_DOUBLE_EQ(reference, decoded_dot) << dtype_name(type) << " cols " << cols;
      EXPECT_NEAR(fused_dot(type, row, x.data(), sums.data(), cols), reference, tolerance(w, x.data()))
          << dtype_name(type) << " cols " << cols << " row " << r;
    }
  }
}

TEST_P(QuantDotTest, LinearForwardOnDecodeStepsMatchesReference) {
  const DType type = GetParam();
  const int64_t rows = 40, cols = 256;
  const auto weights = random_rows(type, rows, cols, 3);
  const Weight w{type, rows, cols, weights.data(), nullptr};
  // Rows in groups of (16 with AVX-512,) 8, 4, 2 and 1; 33 rows take the gemm path.
  for (int64_t m : {1, 3, 7, 8, 9, 16, 31, 33}) {
    const auto x = test::random_values(m * cols, 4);
    std::vector<float> got(static_cast<size_t>(m * rows)), want(static_cast<size_t>(m * rows));
    linear_forward(got.data(), x.data(), m, w);
    linear_forward_reference(want.data(), x.data(), m, w);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> row(static_cast<size_t>(cols));
        weight_row_f32(w, r, row.data());
        EXPECT_NEAR(got[size_t(i * rows + r)], want[size_t(i * rows + r)], tolerance(row, x.data() + i * cols))
            << dtype_name(type) << " m=" << m << " input " << i << " row " << r;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, QuantDotTest,
                         ::testing::Values(DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                                           DType::Q4_K, DType::Q5_K, DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(QuantDot, BlockSumsOfActivations) {
  std::vector<float> x(64, 0.5f);
  x[40] = -16.0f;
  const auto sums = activation_block_sums(x.data(), 64);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0], 16.0f);
  EXPECT_EQ(sums[1], 15.5f - 16.0f);
}

}  // namespace
}  // namespace whet
