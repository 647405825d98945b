#include "kernels/bf16_tiles.h"

#include <immintrin.h>

#include <atomic>
#include <cstring>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/transpose_16x16.h"

// The packing and the dot products need AVX512_BF16 (and BW); AMX needs both and its own.
#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#define WHET_BF16_DOTS 1
#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
#define WHET_BF16_TILES 1
#endif
#endif

namespace whet {

namespace {

constexpr int64_t kTileElements = kTileSide * kTileDepth;

// The engine of this thread's TileScope.
thread_local TileEngine scope_engine = TileEngine::amx;

#ifdef WHET_BF16_TILES

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

#endif

#ifdef WHET_BF16_DOTS

// 16 bf16 of row `row` of X from column `column` (zero past n or past k).
__m256i load_16(const uint16_t* x, int64_t ld, int64_t row, int64_t column, int64_t k, int64_t n) {
  if (row >= k || column >= n) return _mm256_setzero_si256();
  const int64_t left = n - column;
  const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
  return _mm256_maskz_loadu_epi16(mask, x + row * ld + column);
}

#endif

}  // namespace

bool has_tile_engine(TileEngine engine) {
  if (engine == TileEngine::amx) {
#ifdef WHET_BF16_TILES
    return amx_tiles_usable();
#else
    return false;  // built for a CPU without them
#endif
  }
#ifdef WHET_BF16_DOTS
  return cpu_has_bf16_units();
#else
  return false;
#endif
}

bool has_bf16_tiles() { return has_tile_engine(TileEngine::dot_products) || has_tile_engine(TileEngine::amx); }

TileEngine best_tile_engine() {
  return has_tile_engine(TileEngine::amx) ? TileEngine::amx : TileEngine::dot_products;
}

TileScope::TileScope(TileEngine engine) : engine_(engine) {
  WHET_ASSERT(has_tile_engine(engine));
  scope_engine = engine;
#ifdef WHET_BF16_TILES
  if (engine != TileEngine::amx) return;
  TileConfig config;
  for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = kTileSide;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // GCC's asm names 8 of the 64 bytes it reads
  _tile_loadconfig(&config);
#endif
}

TileScope::~TileScope() {
#ifdef WHET_BF16_TILES
  if (engine_ == TileEngine::amx) _tile_release();
#endif
}

int64_t packed_b_elements(int64_t k, int64_t n) { return round_up(k, kTileDepth) * round_up(n, kTileSide); }

PackedB pack_b(uint16_t* packed, const uint16_t* x, int64_t ld, int64_t k, int64_t n) {
  const PackedB b{packed, round_up(k, kTileDepth) / kTileDepth};
#ifdef WHET_BF16_DOTS
  // Lane 2j takes column j of the first row, lane 2j + 1 column j of the second.
  alignas(64) static constexpr uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i interleave = _mm512_load_si512(kInterleave);
  const int64_t blocks = round_up(n, kTileSide) / kTileSide;
  for (int64_t block = 0; block < blocks; ++block)
    for (int64_t tile = 0; tile < b.depth_tiles; ++tile) {
      uint16_t* to = packed + (block * b.depth_tiles + tile) * kTileElements;
      for (int64_t p = 0; p < kTileSide; ++p) {
        const int64_t row = tile * kTileDepth + 2 * p, column = block * kTileSide;
        // Zero-masked inserts: GCC 12's plain ones start from an undefined register and warn.
        const __m512i first = _mm512_maskz_inserti64x4(0xff, _mm512_setzero_si512(), load_16(x, ld, row, column, k, n), 0);
        const __m512i both = _mm512_maskz_inserti64x4(0xff, first, load_16(x, ld, row + 1, column, k, n), 1);
        _mm512_storeu_si512(to + p * kTileDepth, _mm512_permutexvar_epi16(interleave, both));
      }
    }
#else
  WHET_ASSERT(!"pack_b without AVX512_BF16");
#endif
  return b;
}

PackedB pack_b_transposed(uint16_t* packed, const uint16_t* x, int64_t ld, int64_t k, int64_t n) {
  const PackedB b{packed, round_up(k, kTileDepth) / kTileDepth};
#ifdef WHET_BF16_DOTS
  const int64_t blocks = round_up(n, kTileSide) / kTileSide;
  for (int64_t block = 0; block < blocks; ++block)
    for (int64_t tile = 0; tile < b.depth_tiles; ++tile) {
      // Rows of X are B's columns: each one's 32 elements at this depth are 16 pairs,
      // and the transpose puts pair p of all 16 in tile row p.
      const int64_t depth = tile * kTileDepth, left = k - depth;
      const __mmask32 mask = left >= 32 ? __mmask32(0xffffffff) : __mmask32((1u << left) - 1);
      __m512i rows[16];
      for (int64_t j = 0; j < kTileSide; ++j) {
        const int64_t row = block * kTileSide + j;
        rows[j] = row < n ? _mm512_maskz_loadu_epi16(mask, x + row * ld + depth) : _mm512_setzero_si512();
      }
      transpose_16x16(rows);
      uint16_t* to = packed + (block * b.depth_tiles + tile) * kTileElements;
      for (int64_t p = 0; p < kTileSide; ++p) _mm512_storeu_si512(to + p * kTileDepth, rows[p]);
    }
#else
  WHET_ASSERT(!"pack_b_transposed without AVX512_BF16");
#endif
  return b;
}

namespace {

#ifdef WHET_BF16_TILES
// Two by two tiles of C (0-3) at a time, from two tiles of A (4, 5) and two of B (6, 7).
void amx_product(float* c, int64_t ldc, bool accumulate, const uint16_t* a, int64_t lda, const PackedB& b,
                 int64_t column, int64_t depth, int64_t m, int64_t n, int64_t k) {
  const int64_t c_stride = ldc * 4, a_stride = lda * 2, first_tile = depth / kTileDepth;
  // The tile loads and stores are asm statements that name no memory: the caller's
  // stores to A, B and C must not move past them, nor its reads of C before them.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  for (int64_t i = 0; i < m; i += 2 * kTileSide)
    for (int64_t j = 0; j < n; j += 2 * kTileSide) {
      float* c00 = c + i * ldc + j;
      float* c10 = c00 + kTileSide * ldc;
      if (accumulate) {
        _tile_loadd(0, c00, c_stride);
        _tile_loadd(1, c00 + kTileSide, c_stride);
        _tile_loadd(2, c10, c_stride);
        _tile_loadd(3, c10 + kTileSide, c_stride);
      } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
      }
      const int64_t block = (column + j) / kTileSide;
      for (int64_t p = 0; p < k; p += kTileDepth) {
        const int64_t tile = first_tile + p / kTileDepth;
        _tile_loadd(4, a + i * lda + p, a_stride);
        _tile_loadd(5, a + (i + kTileSide) * lda + p, a_stride);
        _tile_loadd(6, b.tiles + (block * b.depth_tiles + tile) * kTileElements, 64);
        _tile_loadd(7, b.tiles + ((block + 1) * b.depth_tiles + tile) * kTileElements, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, c00, c_stride);
      _tile_stored(1, c00 + kTileSide, c_stride);
      _tile_stored(2, c10, c_stride);
      _tile_stored(3, c10 + kTileSide, c_stride);
    }
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
#endif

#ifdef WHET_BF16_DOTS
constexpr int64_t kDotRows = 8;  // rows of C a block sums: 8 x 2 accumulators of 16 columns

// Blocks of 8 rows x 32 columns of C, each a sum over A's pairs of elements: pair p of
// row r (its elements 2p and 2p + 1), broadcast, times row p of B's layout (16 columns'
// elements of B's rows 2p and 2p + 1, interleaved) adds 16 columns' products. A block's
// B is one stream: the tiles of a 16-column block lie one after another down the depth.
void dot_product(float* c, int64_t ldc, bool accumulate, const uint16_t* a, int64_t lda, const PackedB& b,
                 int64_t column, int64_t depth, int64_t m, int64_t n, int64_t k) {
  const int64_t block_elements = b.depth_tiles * kTileElements;
  for (int64_t j = 0; j < n; j += 2 * kTileSide) {
    const uint16_t* b0 = b.tiles + (column + j) / kTileSide * block_elements + depth * kTileSide;
    const uint16_t* b1 = b0 + block_elements;
    for (int64_t i = 0; i < m; i += kDotRows) {
      __m512 sum[kDotRows][2];
#pragma GCC unroll 8
      for (int64_t r = 0; r < kDotRows; ++r) {
        float* row = c + (i + r) * ldc + j;
        sum[r][0] = accumulate ? _mm512_loadu_ps(row) : _mm512_setzero_ps();
        sum[r][1] = accumulate ? _mm512_loadu_ps(row + kTileSide) : _mm512_setzero_ps();
      }
      for (int64_t p = 0; p < k; p += 2) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + p * kTileSide);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(b1 + p * kTileSide);
#pragma GCC unroll 8
        for (int64_t r = 0; r < kDotRows; ++r) {
          int32_t pair;
          std::memcpy(&pair, a + (i + r) * lda + p, sizeof pair);
          const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
          sum[r][0] = _mm512_dpbf16_ps(sum[r][0], x, w0);
          sum[r][1] = _mm512_dpbf16_ps(sum[r][1], x, w1);
        }
      }
#pragma GCC unroll 8
      for (int64_t r = 0; r < kDotRows; ++r) {
        float* row = c + (i + r) * ldc + j;
        _mm512_storeu_ps(row, sum[r][0]);
        _mm512_storeu_ps(row + kTileSide, sum[r][1]);
      }
    }
  }
}
#endif

}  // namespace

void tile_product(float* c, int64_t ldc, bool accumulate, const uint16_t* a, int64_t lda, const PackedB& b,
                  int64_t column, int64_t depth, int64_t m, int64_t n, int64_t k) {
  WHET_ASSERT(m % 32 == 0 && n % 32 == 0 && k % kTileDepth == 0 && column % 32 == 0 && depth % kTileDepth == 0);
#ifdef WHET_BF16_TILES
  if (scope_engine == TileEngine::amx) return amx_product(c, ldc, accumulate, a, lda, b, column, depth, m, n, k);
#endif
#ifdef WHET_BF16_DOTS
  dot_product(c, ldc, accumulate, a, lda, b, column, depth, m, n, k);
#else
  WHET_ASSERT(!"tile_product without AVX512_BF16");
#endif
}

}  // namespace whet
