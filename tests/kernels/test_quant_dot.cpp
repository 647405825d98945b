// Dot products that decode quantized weights in registers, against decoding
// them first and summing in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/quant.h"
#include "kernels/linear.h"
#include "kernels/quant_dot.h"
#include "random_tensors.h"

namespace whet {
namespace {

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
    const auto weights = test::random_quantized_rows(type, rows, cols, uint32_t(cols));
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
  const auto weights = test::random_quantized_rows(type, rows, cols, 3);
  const Weight w{type, rows, cols, weights.data(), nullptr};
  // Fused dots below 5 rows, AMX tiles from 5 to 512 where the CPU has them, fused dots up
  // to 32 elsewhere; past those the gemm path.
  for (int64_t m : {1, 3, 7, 8, 9, 16, 31, 33, 513}) {
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

// Rows in groups of (16 with AVX-512,) 8, 4, 2 and 1, each decoding the weight row once.
TEST_P(QuantDotTest, FusedDotsOfSeveralRowsMatchTheReference) {
  const DType type = GetParam();
  const int64_t cols = 512;
  const auto weights = test::random_quantized_rows(type, 1, cols, 5);
  for (int64_t m : {2, 3, 8, 9, 16, 31}) {
    const auto x = test::random_values(m * cols, uint32_t(m));
    const auto sums = activation_block_sums(x.data(), m * cols);
    const int64_t out_stride = 3;
    std::vector<float> out(size_t(m * out_stride));
    fused_dots(type, weights.data(), x.data(), sums.data(), m, cols, out.data(), out_stride);
    std::vector<float> w(static_cast<size_t>(cols));
    dequantize(type, weights.data(), w.data(), cols);
    for (int64_t i = 0; i < m; ++i)
      EXPECT_NEAR(out[size_t(i * out_stride)], fused_dot_reference(type, weights.data(), x.data() + i * cols, cols),
                  tolerance(w, x.data() + i * cols))
          << dtype_name(type) << " m=" << m << " input " << i;
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
