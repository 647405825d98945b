// Tiled products of quantized weight rows, on each engine the CPU has (AMX tiles,
// AVX-512 vectors), against the fused dots' reference (decoding block by block,
// summing in double precision).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/quant.h"
#include "kernels/quant_dot.h"
#include "kernels/quant_tiles.h"
#include "random_tensors.h"

namespace whet {
namespace {

class QuantTilesTest : public ::testing::TestWithParam<DType> {};

// 45 weight rows (a group of 32 and a part one) by 1, 5, 16 and 37 activation rows
// (chunks of 16, the last a part one): each output within 2^-21 (4.8e-7) of Σ|w·x|
// of the double-precision sum. Over 300 random draws of 256 columns a helper measured
// the tiles up to 1.4e-7 of it and the fused dots 1.6e-7 (a block's offset and its
// levels' sum cancel in both); activations carried as two bf16 parts instead of
// three stray to 2^-18 of each product, and fail every encoding here.
// One output against the fused dots' reference for weight row `row` (cols elements
// encoded as `type`) and activation row x, within 2^-21 of Σ|w·x|.
void expect_near_reference(float got, DType type, const uint8_t* row, const float* x, int64_t cols,
                           const std::string& where) {
  std::vector<float> w(static_cast<size_t>(cols));
  dequantize(type, row, w.data(), cols);
  double magnitude = 0;
  for (int64_t j = 0; j < cols; ++j) magnitude += std::fabs(double(w[size_t(j)]) * x[j]);
  EXPECT_NEAR(got, fused_dot_reference(type, row, x, cols), 0x1p-21 * magnitude) << where;
}

constexpr TiledDotsEngine kEngines[] = {TiledDotsEngine::amx_tiles, TiledDotsEngine::avx512, TiledDotsEngine::avx2};

std::string engine_name(TiledDotsEngine engine) {
  switch (engine) {
    case TiledDotsEngine::amx_tiles: return " on AMX";
    case TiledDotsEngine::avx512: return " on AVX-512";
    default: return " on AVX2";
  }
}

void expect_tiled_dots_match_reference(DType type, TiledDotsEngine engine) {
  const int64_t rows = 45;
  for (const int64_t cols : {int64_t(256), int64_t(1536)}) {
    const auto weights = test::random_quantized_rows(type, rows, cols, uint32_t(cols));
    const size_t row_bytes = dtype_bytes(type, cols);
    for (const int64_t m : {int64_t(1), int64_t(5), int64_t(16), int64_t(37)}) {
      const auto x = test::random_values(m * cols, uint32_t(m));
      const int64_t out_stride = rows + 3;  // not the row count: the stride is honoured
      std::vector<float> out(size_t(m * out_stride), -1.0f);
      const TiledWeights matrix{weights.data(), int64_t(row_bytes), rows, out.data(), out_stride};
      tiled_dots(type, std::span(&matrix, 1), x.data(), m, cols, engine);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t r = 0; r < rows; ++r)
          expect_near_reference(out[size_t(i * out_stride + r)], type, weights.data() + size_t(r) * row_bytes,
                                x.data() + i * cols, cols,
                                fmt::format("{}{} cols {} m {} input {} row {}", dtype_name(type), engine_name(engine),
                                            cols, m, i, r));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t r = rows; r < out_stride; ++r) EXPECT_EQ(out[size_t(i * out_stride + r)], -1.0f);
    }
  }
}

// Several matrices in one call (a layer's q, k and v): their groups of 32 rows are
// numbered on from matrix to matrix and split among the threads. Rows of 90, 10
// and 45 (last groups of 26, 10 and 13 rows: two halves of 16, or one), each
// matrix with its own output and stride.
void expect_several_matrices_match_reference(DType type, TiledDotsEngine engine) {
  const int64_t cols = 512;
  const std::vector<int64_t> rows = {90, 10, 45};
  const size_t row_bytes = dtype_bytes(type, cols);
  for (const int64_t m : {int64_t(3), int64_t(16), int64_t(20)}) {
    const auto x = test::random_values(m * cols, uint32_t(m + 7));
    std::vector<std::vector<uint8_t>> weights;
    std::vector<std::vector<float>> outs;
    std::vector<TiledWeights> matrices;
    for (size_t k = 0; k < rows.size(); ++k) {
      weights.push_back(test::random_quantized_rows(type, rows[k], cols, uint32_t(100 + k)));
      outs.emplace_back(size_t(m * (rows[k] + 1)), -1.0f);
    }
    for (size_t k = 0; k < rows.size(); ++k)
      matrices.push_back({weights[k].data(), int64_t(row_bytes), rows[k], outs[k].data(), rows[k] + 1});
    tiled_dots(type, matrices, x.data(), m, cols, engine);
    for (size_t k = 0; k < rows.size(); ++k)
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t r = 0; r < rows[k]; ++r)
          expect_near_reference(outs[k][size_t(i * (rows[k] + 1) + r)], type,
                                weights[k].data() + size_t(r) * row_bytes, x.data() + i * cols, cols,
                                fmt::format("{}{} matrix {} m {} input {} row {}", dtype_name(type),
                                            engine_name(engine), k, m, i, r));
        EXPECT_EQ(outs[k][size_t(i * (rows[k] + 1) + rows[k])], -1.0f);
      }
  }
}

TEST_P(QuantTilesTest, SeveralMatricesInOneCall) {
  for (const TiledDotsEngine engine : kEngines)
    if (has_tiled_dots(GetParam(), engine)) expect_several_matrices_match_reference(GetParam(), engine);
}

TEST_P(QuantTilesTest, MatchesTheDecodedReference) {
  const DType type = GetParam();
  // Only where the process may not use AMX (no such CPU, or Linux refused) do the
  // tiles go unused; this build has them wherever the compiler targets AMX. The
  // vectors run wherever it targets AVX-512, or AVX2 (every machine this project
  // runs on).
  EXPECT_EQ(has_tiled_dots(type, TiledDotsEngine::amx_tiles), amx_tiles_usable()) << cpu_description();
  EXPECT_TRUE(has_tiled_dots(type, TiledDotsEngine::avx2));
  for (const TiledDotsEngine engine : kEngines)
    if (has_tiled_dots(type, engine)) expect_tiled_dots_match_reference(type, engine);
}

INSTANTIATE_TEST_SUITE_P(Encodings, QuantTilesTest,
                         ::testing::Values(DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                                           DType::Q4_K, DType::Q5_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(QuantTiles, Q6KIsLeftToTheFusedDots) { EXPECT_FALSE(has_tiled_dots(DType::Q6_K)); }

}  // namespace
}  // namespace whet
