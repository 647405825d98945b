// bf16 tile products against a plain double-precision sum of the same bf16 values,
// on each engine the CPU has (AMX, AVX512_BF16's dot products).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/bf16_tiles.h"
#include "random_tensors.h"

namespace whet {
namespace {

std::vector<uint16_t> random_bf16(int64_t n, uint32_t seed) {
  std::vector<uint16_t> out;
  for (const float v : test::random_values(n, seed)) out.push_back(f32_to_bf16(v));
  return out;
}

// C = or += A · B over a window of B's columns and rows, B packed from X both ways
// (X itself, and Xᵀ stored as its own matrix). Products of bf16 are exact in fp32,
// so only the order of fp32 sums differs from the double reference: within 2^-20 of
// Σ|a·b| (measured up to 1.2e-7 of it). B's sizes are not multiples of the tiles:
// the packing pads them with zeros, which the window past them reads.
TEST(Bf16Tiles, ProductsMatchThePlainSum) {
  // Only a CPU without bf16 units, or without AMX (or a kernel that refuses it), lacks an
  // engine; or a build for an older CPU than this one (-march=x86-64-v3 on a newer one).
#if defined(__AVX512BF16__) && defined(__AVX512BW__)
  constexpr bool built_for_dots = true;
#else
  constexpr bool built_for_dots = false;
#endif
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AMX_TILE__) && defined(__AMX_BF16__)
  constexpr bool built_for_amx = true;
#else
  constexpr bool built_for_amx = false;
#endif
  EXPECT_EQ(has_tile_engine(TileEngine::dot_products), built_for_dots && cpu_has_bf16_units()) << cpu_description();
  EXPECT_EQ(has_tile_engine(TileEngine::amx), built_for_amx && amx_tiles_usable()) << cpu_description();
  if (!has_bf16_tiles()) return;
  const int64_t k_total = 150, n_total = 90;  // B (k_total × n_total), packed as 160 × 96
  const int64_t depth = 32, column = 32, m = 64, n = 64, k = 128;
  const auto x = random_bf16(k_total * n_total, 1);
  std::vector<uint16_t> x_transposed(size_t(n_total * k_total));
  for (int64_t r = 0; r < k_total; ++r)
    for (int64_t j = 0; j < n_total; ++j) x_transposed[size_t(j * k_total + r)] = x[size_t(r * n_total + j)];
  const int64_t lda = k + 8, ldc = n + 4;
  const auto a = random_bf16(m * lda, 2);
  const auto before = test::random_values(m * ldc, 3);
  auto b_at = [&](int64_t r, int64_t j) {
    return r < k_total && j < n_total ? double(bf16_to_f32(x[size_t(r * n_total + j)])) : 0.0;
  };
  std::vector<uint16_t> packed(size_t(packed_b_elements(k_total, n_total)), 0xffff);
  std::vector<uint16_t> packed_transposed(packed.size(), 0xffff);
  const PackedB b = pack_b(packed.data(), x.data(), n_total, k_total, n_total);
  const PackedB bt = pack_b_transposed(packed_transposed.data(), x_transposed.data(), k_total, k_total, n_total);
  EXPECT_EQ(packed, packed_transposed);
  for (const TileEngine engine : {TileEngine::amx, TileEngine::dot_products}) {
    if (!has_tile_engine(engine)) continue;
    SCOPED_TRACE(engine == TileEngine::amx ? "AMX" : "AVX512_BF16 dot products");
    for (const bool accumulate : {false, true}) {
      std::vector<float> c = before;
      {
        const TileScope tiles(engine);
        tile_product(c.data(), ldc, accumulate, a.data(), lda, accumulate ? b : bt, column, depth, m, n, k);
      }
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double sum = accumulate ? before[size_t(i * ldc + j)] : 0.0, magnitude = std::fabs(sum);
          for (int64_t p = 0; p < k; ++p) {
            const double term = bf16_to_f32(a[size_t(i * lda + p)]) * b_at(depth + p, column + j);
            sum += term, magnitude += std::fabs(term);
          }
          ASSERT_NEAR(c[size_t(i * ldc + j)], sum, 0x1p-20 * magnitude) << "row " << i << " column " << j;
        }
        for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[size_t(i * ldc + j)], before[size_t(i * ldc + j)]);
      }
    }
  }
}

}  // namespace
}  // namespace whet
