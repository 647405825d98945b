#include "kernels/quant_tiles.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/bf16_tiles.h"
#include "kernels/quant_blocks.h"
#include "kernels/transpose_16x16.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define WHET_SIDE_DOTS 1  // the AVX2 engine; the others need these too
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__)
#define WHET_GROUP_DOTS 1  // the AVX-512 engine; AMX's needs these too
#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__)
#define WHET_AMX_TILES 1
#endif
#endif

namespace whet {

namespace {

using namespace quant_blocks;

bool tiles_take(DType type) {
  switch (type) {
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K: return true;
    default: return false;
  }
}

#ifdef WHET_SIDE_DOTS

constexpr int kTileRows = 16;  // weight rows of A and C; pairs of inputs of B; activation rows of a chunk; an AVX2 group
constexpr int kGroupRows = 2 * kTileRows;  // weight rows a thread takes at a time: two A tiles

// What one weight row decodes at a time: a block of 32, or a K-quant super-block's
// eight sub-blocks of 32, each with its scale and the offset its Σ x multiplies.
template <DType type>
struct DecodeUnit {
  static constexpr bool k_quant = type == DType::Q4_K || type == DType::Q5_K;
  static constexpr bool is_signed = type == DType::Q8_0;
  static constexpr int sub_blocks = k_quant ? 8 : 1;
  static constexpr int64_t elems = kBlock * sub_blocks;

  // Sub-block s's scale at scale[s · stride], its offset at offset[s · stride].
  static void scales(const uint8_t* unit, float* scale, float* offset, int64_t stride) {
    if constexpr (k_quant) {
      const float d = load_f16(unit), dmin = load_f16(unit + 2);
      uint8_t scales[8], mins[8];
      unpack_k_scales(unit + 4, scales, mins);
      for (int s = 0; s < 8; ++s) scale[s * stride] = d * float(scales[s]), offset[s * stride] = -dmin * float(mins[s]);
    } else {
      const __m128 dm = block_scale_and_min<type>(unit);
      scale[0] = _mm_cvtss_f32(dm), offset[0] = block_offset<type>(dm);
    }
  }
  // Each sub-block's 32 levels, as bytes.
  static void levels(const uint8_t* unit, LevelBytes* sub_block) {
    if constexpr (k_quant) {
      for (int pair = 0; pair < 4; ++pair) {
        const KPair p = k_sub_block_pair<type == DType::Q5_K>(unit, pair);
        sub_block[2 * pair] = p.sub_block[0], sub_block[2 * pair + 1] = p.sub_block[1];
      }
    } else {
      sub_block[0] = block_level_bytes<type>(unit);
    }
  }
};

#endif
#ifdef WHET_AMX_TILES

// Tiles 0 and 1 hold the levels of two sets of 16 weight rows, 2-4 the
// activations' three parts, 5 and 6 the two sets' sums; every one 16 rows of 64
// bytes. A product takes tens of cycles to finish, and the next one into the same
// sums waits for it; alternating between two sets of rows keeps two in flight
// (and shares the activation tiles: 261-281 → 237 µs for 1536 x 576 weights
// against 16 rows on one thread, docs/performance.md). TileScope (bf16_tiles.h)
// configures them.

// The activations as the B operands of the products, one tile per 32 inputs: tile
// row p holds inputs 2p and 2p + 1 of activation row 0, then of row 1, and so on
// (pairs of rows past m are zero). Each input is split into three bf16 parts, its rounding
// and the roundings of what is left, which add up to it exactly (a normal fp32 value):
// with two parts, a batched step's logits strayed 1.5e-5 (relative) from the
// fused dots', ten times what fp32's summation order gives. And each row's Σ x
// over the 32, for the blocks' offsets.
//
// Made on the calling thread into its own buffers, which the next object made there
// reuses: one at a time per thread, used up before the next is made.
class ActivationTiles {
 public:
  static constexpr int kParts = 3;

  // Room for x's m rows of n inputs; fill() writes them.
  ActivationTiles(const float* x, int64_t m, int64_t n)
      : x_(x), m_(m), chunks_((m + kTileRows - 1) / kTileRows), blocks_(n / kBlock) {
    // The calling thread's buffers, kept from call to call: a decode step makes
    // this for every matrix, and fresh ones came from the OS, page by page.
    thread_local std::vector<uint32_t> pair_buffer;
    thread_local std::vector<float> sum_buffer;
    pair_buffer.resize(size_t(chunks_ * blocks_ * kParts * kTileRows * kTileRows));
    sum_buffer.resize(size_t(chunks_ * blocks_ * kTileRows));
    pairs_ = pair_buffer.data(), sums_ = sum_buffer.data();
  }

  // The tiles of x (m, n), split among the threads of the enclosing parallel region
  // (its loop ends in a barrier): built on one thread, they were an eighth of a
  // 512-row product's time on two.
  void fill() const {
    const int64_t n = blocks_ * kBlock;
#pragma omp for collapse(2) schedule(static)
    for (int64_t chunk = 0; chunk < chunks_; ++chunk)
      for (int64_t b = 0; b < blocks_; ++b) {
        const int64_t first = chunk * kTileRows, rows = std::min<int64_t>(kTileRows, m_ - first);
        // What is left of each row's 32 inputs after the parts so far (rows past m: zero).
        alignas(64) float rest[kTileRows][kBlock] = {};
        for (int64_t i = 0; i < rows; ++i) {
          float sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int j = 0; j < kBlock; ++j) rest[i][j] = x_[(first + i) * n + b * kBlock + j], sum += rest[i][j];
          sums_[(chunk * blocks_ + b) * kTileRows + i] = sum;
        }
        for (int part = 0; part < kParts; ++part) {
          __m512i pairs[kTileRows];  // row i's 16 pairs of bf16, in the order of its inputs
          for (int i = 0; i < kTileRows; ++i) pairs[i] = take_part(rest[i]);
          transpose_16x16(pairs);  // tile row p: pair p of every row
          uint32_t* to = pairs_ + ((chunk * blocks_ + b) * kParts + part) * kTileRows * kTileRows;
          for (int p = 0; p < kTileRows; ++p) _mm512_storeu_si512(to + p * kTileRows, pairs[p]);
        }
      }
  }
  // Chunks of 16 activation rows.
  int64_t chunks() const { return chunks_; }
  // Part `part` of sub-block b's inputs of activation chunk `chunk`: a B tile of 16 rows of 64 bytes.
  const uint32_t* tile(int64_t chunk, int part, int64_t b) const {
    return pairs_ + ((chunk * blocks_ + b) * kParts + part) * kTileRows * kTileRows;
  }
  // Each of the chunk's activation rows' Σ x over sub-block b's 32 inputs.
  const float* sums(int64_t chunk, int64_t b) const { return sums_ + (chunk * blocks_ + b) * kTileRows; }

 private:
  // 32 values rounded to bf16, as 16 pairs; `rest` keeps what the rounding left (exact:
  // a bf16 is the top half of an fp32, and the difference of the two is representable).
  static __m512i take_part(float* rest) {
    constexpr __mmask16 all = 0xffff;  // zero-masked forms: see quant_dot.cpp on GCC 12's undefined registers
    const __m512 first = _mm512_load_ps(rest), second = _mm512_load_ps(rest + 16);
    const __m512i pairs = (__m512i)_mm512_cvtne2ps_pbh(second, first);
    const auto widened = [&](int half) {
      const __m512i bits = _mm512_maskz_cvtepu16_epi32(all, _mm512_maskz_extracti64x4_epi64(0xff, pairs, half));
      return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, bits, 16));
    };
    _mm512_store_ps(rest, _mm512_sub_ps(first, widened(0)));
    _mm512_store_ps(rest + 16, _mm512_sub_ps(second, widened(1)));
    return pairs;
  }

  const float* x_;
  int64_t m_, chunks_, blocks_;
  uint32_t* pairs_;  // (chunks, sub-blocks, parts, 16 pairs, 16 activation rows)
  float* sums_;      // (chunks, sub-blocks, 16 activation rows)
};

// The bf16 encodings of 0..31, every unsigned level there is.
constexpr uint16_t bf16_of_small(int v) {
  int exponent = 0;
  while ((2 << exponent) <= v) ++exponent;
  return v == 0 ? 0 : uint16_t((127 + exponent) << 7 | ((v << (7 - exponent)) & 0x7f));
}
struct alignas(64) SmallBf16 {
  uint16_t of[32];
  constexpr SmallBf16() : of() {
    for (int v = 0; v < 32; ++v) of[v] = bf16_of_small(v);
  }
};
constexpr SmallBf16 kSmallBf16;
static_assert(kSmallBf16.of[1] == 0x3f80 && kSmallBf16.of[3] == 0x4040 && kSmallBf16.of[31] == 0x41f8);

// 32 levels (bytes: elements 0-15 in `first`, 16-31 in `second`) as bf16 at `to`, for the tiles,
// exact: unsigned ones (below 32) looked up, signed ones (Q8_0's) widened to fp32 and rounded.
template <bool is_signed>
inline void store_levels(uint16_t* to, const LevelBytes& bytes) {
  if constexpr (is_signed) {
    constexpr __mmask16 all = 0xffff;  // zero-masked forms: see quant_dot.cpp on GCC 12's undefined registers
    const auto widen = [](__m128i b) { return _mm512_maskz_cvtepi32_ps(all, _mm512_maskz_cvtepi8_epi32(all, b)); };
    _mm512_storeu_si512(to, (__m512i)_mm512_cvtne2ps_pbh(widen(bytes.second), widen(bytes.first)));
  } else {
    const __m512i words = _mm512_maskz_cvtepu8_epi16(~__mmask32(0), _mm256_set_m128i(bytes.second, bytes.first));
    _mm512_storeu_si512(to, _mm512_permutexvar_epi16(words, _mm512_load_si512(kSmallBf16.of)));
  }
}

#endif

#ifdef WHET_GROUP_DOTS

// The activations as the fp32 engine reads them: per chunk of 16 rows and sub-block of
// 32 inputs, input j of the 16 rows as one vector (rows past m zero), and each row's
// Σ x over the 32. Made, like ActivationTiles, into the calling thread's buffers and
// filled by the threads of the enclosing parallel region.
class ActivationColumns {
 public:
  ActivationColumns(const float* x, int64_t m, int64_t n)
      : x_(x), m_(m), chunks_((m + kTileRows - 1) / kTileRows), blocks_(n / kBlock) {
    thread_local std::vector<float> column_buffer, sum_buffer;
    column_buffer.resize(size_t(chunks_ * blocks_ * kBlock * kTileRows));
    sum_buffer.resize(size_t(chunks_ * blocks_ * kTileRows));
    columns_ = column_buffer.data(), sums_ = sum_buffer.data();
  }

  // Each half of a sub-block's inputs transposed in registers (element by element,
  // this fill and the store of the sums were 4% of a 16-sequence decode step's samples).
  void fill() const {
    const int64_t n = blocks_ * kBlock;
#pragma omp for collapse(2) schedule(static)
    for (int64_t chunk = 0; chunk < chunks_; ++chunk)
      for (int64_t b = 0; b < blocks_; ++b) {
        const int64_t first = chunk * kTileRows, rows = std::min<int64_t>(kTileRows, m_ - first);
        float* to = columns_ + (chunk * blocks_ + b) * kBlock * kTileRows;
        __m512 sums = _mm512_setzero_ps();  // lane i: Σ x of row i, added in the inputs' order
        for (int64_t half = 0; half < kBlock; half += kTileRows) {
          __m512i lanes[kTileRows];  // row i's inputs half..half + 15, then (transposed) input half + j of every row
          for (int64_t i = 0; i < kTileRows; ++i)
            lanes[i] = i < rows ? _mm512_loadu_si512(x_ + (first + i) * n + b * kBlock + half) : _mm512_setzero_si512();
          transpose_16x16(lanes);
          for (int64_t j = 0; j < kTileRows; ++j) {
            _mm512_storeu_si512(to + (half + j) * kTileRows, lanes[j]);
            sums = _mm512_add_ps(sums, _mm512_castsi512_ps(lanes[j]));
          }
        }
        _mm512_storeu_ps(sums_ + (chunk * blocks_ + b) * kTileRows, sums);
      }
  }
  int64_t chunks() const { return chunks_; }
  // Sub-block b's 32 inputs of chunk `chunk`: input j of its 16 rows at j · 16.
  const float* columns(int64_t chunk, int64_t b) const { return columns_ + (chunk * blocks_ + b) * kBlock * kTileRows; }
  const float* sums(int64_t chunk, int64_t b) const { return sums_ + (chunk * blocks_ + b) * kTileRows; }

 private:
  const float* x_;
  int64_t m_, chunks_, blocks_;
  float* columns_;  // (chunks, sub-blocks, 32 inputs, 16 activation rows)
  float* sums_;     // (chunks, sub-blocks, 16 activation rows)
};

// 32 levels as fp32 at `to`, for the vectors: exact, small integers.
template <bool is_signed>
inline void store_levels(float* to, const LevelBytes& bytes) {
  constexpr __mmask16 all = 0xffff;  // zero-masked forms: see quant_dot.cpp on GCC 12's undefined registers
  const auto widen = [](__m128i b) {
    if constexpr (is_signed) return _mm512_maskz_cvtepi32_ps(all, _mm512_maskz_cvtepi8_epi32(all, b));
    return _mm512_maskz_cvtepi32_ps(all, _mm512_maskz_cvtepu8_epi32(all, b));
  };
  _mm512_storeu_ps(to, widen(bytes.first));
  _mm512_storeu_ps(to + 16, widen(bytes.second));
}

// A thread's decoded weight rows: (32 rows, n) levels, bf16 for the tiles and fp32
// for the vectors, and (32 rows, sub-blocks) scales and offsets.
template <typename Level>
struct GroupScratch {
  std::vector<Level> levels;
  std::vector<float> scale, offset;

  // Room for rows of n weights (kept from call to call: resizing down keeps the memory).
  void fit(int64_t n) {
    levels.resize(size_t(kGroupRows * n));
    scale.resize(size_t(kGroupRows * n / kBlock));
    offset.resize(scale.size());
  }
};

// A group's decoded rows: levels (32, n), and each sub-block's scale and offset
// (32, blocks), blocks = n / 32.
template <typename Level>
struct DecodedGroup {
  const Level* levels;
  const float *scale, *offset;
  int64_t blocks;

  // sums_row += products · (row's scale of sub-block b) + (its offset) · Σ x, lane by lane
  // (lane i: activation row i).
  void add_block(float* sums_row, __m512 products, __m512 x_sums, int64_t row, int64_t b) const {
    const __m512 sum = _mm512_fmadd_ps(products, _mm512_set1_ps(scale[row * blocks + b]), _mm512_load_ps(sums_row));
    _mm512_store_ps(sums_row, _mm512_fmadd_ps(_mm512_set1_ps(offset[row * blocks + b]), x_sums, sum));
  }
};

// Decodes up to 32 weight rows from `weights` into the scratch, read from start to
// end; rows past `count` are zero (levels, scales and offsets), so they add nothing.
template <DType type, typename Level>
DecodedGroup<Level> decode_group(const uint8_t* weights, int64_t row_bytes, int64_t count, int64_t n, GroupScratch<Level>& scratch) {
  using Unit = DecodeUnit<type>;
  const int64_t blocks = n / kBlock, unit_bytes = dtype_info(type).block_bytes;
  Level* levels = scratch.levels.data();
  float *scale = scratch.scale.data(), *offset = scratch.offset.data();
  for (int64_t r = 0; r < count; ++r)
    for (int64_t unit = 0; unit < n / Unit::elems; ++unit) {
      // As the fused dots do (quant_blocks.h): with the weights not in cache, 1536 x 576
      // Q4_1 weights took 173-196 µs without, 112-137 with, 95 when cached.
      const uint8_t* at = weights + r * row_bytes + unit * unit_bytes;
      prefetch_ahead(at);
      const int64_t b = unit * Unit::sub_blocks;
      LevelBytes sub_block[Unit::sub_blocks];
      Unit::levels(at, sub_block);
      for (int s = 0; s < Unit::sub_blocks; ++s) store_levels<Unit::is_signed>(levels + r * n + (b + s) * kBlock, sub_block[s]);
      Unit::scales(at, scale + r * blocks + b, offset + r * blocks + b, 1);
    }
  std::fill(levels + count * n, levels + kGroupRows * n, Level(0));
  std::fill(scale + count * blocks, scale + kGroupRows * blocks, 0.0f);
  std::fill(offset + count * blocks, offset + kGroupRows * blocks, 0.0f);
  return {levels, scale, offset, blocks};
}

// A chunk of 16 activation rows' sums (sums[r], lane i: activation row i against weight
// row r) into out, for the rows that exist: 16 weight rows at a time transposed in
// registers, so that each activation row's sums leave as one vector.
void store_chunk(const float (*sums)[kTileRows], int64_t chunk, int64_t m, int64_t count, float* out,
                 int64_t out_stride) {
  const int64_t rows = std::min<int64_t>(kTileRows, m - chunk * kTileRows);
  for (int64_t half = 0; half < count; half += kTileRows) {
    __m512i lanes[kTileRows];  // weight row half + r's sums, then (transposed) activation row i's
    for (int r = 0; r < kTileRows; ++r) lanes[r] = _mm512_load_si512(sums[half + r]);
    transpose_16x16(lanes);
    const __mmask16 present = __mmask16((1u << std::min<int64_t>(kTileRows, count - half)) - 1);
    for (int64_t i = 0; i < rows; ++i)
      _mm512_mask_storeu_ps(out + (chunk * kTileRows + i) * out_stride + half, present, _mm512_castsi512_ps(lanes[i]));
  }
}

#endif

#ifdef WHET_AMX_TILES

// Up to 32 weight rows from `weights` against the activations. Their levels are
// decoded once (rows read from start to end), then multiplied with each chunk of
// 16 activation rows: per sub-block, tiles A (16 weight rows each) times the
// activations' parts sum in tiles C, which land in `products` and are scaled into
// fp32 sums (lane i of sums[r]: activation row i against weight row r).
template <DType type>
void tile_group(const uint8_t* weights, int64_t row_bytes, int64_t count, const ActivationTiles& x, int64_t m,
                int64_t n, float* out, int64_t out_stride, GroupScratch<uint16_t>& scratch) {
  const DecodedGroup<uint16_t> group = decode_group<type>(weights, row_bytes, count, n, scratch);
  const uint16_t* levels = group.levels;
  // The tile loads below read `levels` through asm statements that name no memory:
  // the stores above must not move past them.
  std::atomic_signal_fence(std::memory_order_seq_cst);

  alignas(64) float products[2][kGroupRows][kTileRows];
  for (int64_t chunk = 0; chunk < x.chunks(); ++chunk) {
    // Sub-block b's sums are left in tiles 5 and 6 by multiply(b) and stored by
    // store(b) only after the vector work on sub-block b − 1 has been issued: a
    // store from a tile holds back every load after it until its products are done.
    const auto multiply = [&](int64_t b) {
      _tile_loadd(0, levels + b * kBlock, n * 2);
      _tile_loadd(1, levels + kTileRows * n + b * kBlock, n * 2);
      _tile_loadd(2, x.tile(chunk, 0, b), 64);
      _tile_loadd(3, x.tile(chunk, 1, b), 64);
      _tile_loadd(4, x.tile(chunk, 2, b), 64);
      _tile_zero(5);
      _tile_zero(6);
      _tile_dpbf16ps(5, 0, 2);
      _tile_dpbf16ps(6, 1, 2);
      _tile_dpbf16ps(5, 0, 3);
      _tile_dpbf16ps(6, 1, 3);
      _tile_dpbf16ps(5, 0, 4);
      _tile_dpbf16ps(6, 1, 4);
    };
    const auto store = [&](int64_t b) {
      _tile_stored(5, products[b & 1][0], 64);
      _tile_stored(6, products[b & 1][kTileRows], 64);
    };
    alignas(64) float sums[kGroupRows][kTileRows] = {};
    const auto accumulate = [&](int64_t b) {
      const __m512 x_sums = _mm512_loadu_ps(x.sums(chunk, b));
#pragma GCC unroll 8
      for (int r = 0; r < kGroupRows; ++r) group.add_block(sums[r], _mm512_load_ps(products[b & 1][r]), x_sums, r, b);
    };
    for (int64_t b = 0; b < group.blocks; ++b) {
      multiply(b);
      if (b > 0) accumulate(b - 1);
      store(b);
    }
    accumulate(group.blocks - 1);
    store_chunk(sums, chunk, m, count, out, out_stride);
  }
}

#endif

#ifdef WHET_GROUP_DOTS

// Up to 32 weight rows against the activations on AVX-512 without AMX: their levels
// decoded once as fp32, then for each chunk of 16 activation rows and sub-block, 16
// weight rows at a time in 16 registers: lane i of acc[r] sums level (r, j) times
// input j of activation row i, a broadcast level times a column of the chunk. The
// block's scale and offset then apply as on the tiles.
template <DType type>
void vector_group(const uint8_t* weights, int64_t row_bytes, int64_t count, const ActivationColumns& x, int64_t m,
                  int64_t n, float* out, int64_t out_stride, GroupScratch<float>& scratch) {
  const DecodedGroup<float> group = decode_group<type>(weights, row_bytes, count, n, scratch);
  for (int64_t chunk = 0; chunk < x.chunks(); ++chunk) {
    alignas(64) float sums[kGroupRows][kTileRows] = {};
    for (int64_t b = 0; b < group.blocks; ++b) {
      const float* columns = x.columns(chunk, b);
      const __m512 x_sums = _mm512_loadu_ps(x.sums(chunk, b));
      for (int64_t half = 0; half < count; half += kTileRows) {
        const float* level = group.levels + half * n + b * kBlock;
        __m512 acc[kTileRows];
#pragma GCC unroll 16
        for (int r = 0; r < kTileRows; ++r) acc[r] = _mm512_setzero_ps();
        for (int64_t j = 0; j < kBlock; ++j) {
          const __m512 column = _mm512_loadu_ps(columns + j * kTileRows);
#pragma GCC unroll 16
          for (int r = 0; r < kTileRows; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(level[r * n + j]), column, acc[r]);
        }
#pragma GCC unroll 16
        for (int r = 0; r < kTileRows; ++r) group.add_block(sums[half + r], acc[r], x_sums, half + r, b);
      }
    }
    store_chunk(sums, chunk, m, count, out, out_stride);
  }
}

#endif

#ifdef WHET_SIDE_DOTS

// The activations as the AVX2 engine reads them: as they are, each input broadcast.
struct ActivationRows {
  const float* x;
  ActivationRows(const float* x, int64_t /*m*/, int64_t /*n*/) : x(x) {}
  void fill() const {}
};

// A thread's decoded weight rows for the AVX2 engine: a group's 16 rows turned on
// their side, the weights themselves (scale · level + offset) in fp32, input j of the
// 16 rows at weights[j] (rows 0-7 one vector, 8-15 the next); and one decode unit of
// the rows' levels as bytes on the way.
struct alignas(64) SideScratch {  // aligned: no cache line shared between threads
  struct alignas(64) Column {
    float row[kTileRows];
  };
  std::vector<Column> weights;
  __m128i level_bytes[2 * 8 * kTileRows];  // (sub-block, its first or second 16, row) of one unit

  // Room for rows of n weights, as GroupScratch::fit.
  void fit(int64_t n) { weights.resize(size_t(n)); }
};

// 16 rows of 16 bytes transposed in place: afterwards rows[j] holds byte j of every
// row, row i's in byte i. Four rounds of interleaving halve the runs of one row's
// bytes each time (8, 4, 2, 1): 64 shuffles of 16-byte registers, where transposing
// after the widening to 32 bits would move four times the bytes.
[[gnu::always_inline]] inline void transpose_bytes_16x16(__m128i rows[16]) {
  __m128i a[16], b[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k)  // a[k]: rows 2k, 2k + 1 interleaved, bytes 0-7; a[8 + k]: bytes 8-15
    a[k] = _mm_unpacklo_epi8(rows[2 * k], rows[2 * k + 1]), a[8 + k] = _mm_unpackhi_epi8(rows[2 * k], rows[2 * k + 1]);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h)  // b[8h + k]: rows 4k..4k + 3, bytes 8h..8h + 3; b[8h + 4 + k]: bytes 8h + 4..8h + 7
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      b[8 * h + k] = _mm_unpacklo_epi16(a[8 * h + 2 * k], a[8 * h + 2 * k + 1]),
      b[8 * h + 4 + k] = _mm_unpackhi_epi16(a[8 * h + 2 * k], a[8 * h + 2 * k + 1]);
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q)  // a[4q + k]: rows 8k..8k + 7 of b[4q..]'s first two bytes, a[4q + 2 + k]: its last two
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k)
      a[4 * q + k] = _mm_unpacklo_epi32(b[4 * q + 2 * k], b[4 * q + 2 * k + 1]),
      a[4 * q + 2 + k] = _mm_unpackhi_epi32(b[4 * q + 2 * k], b[4 * q + 2 * k + 1]);
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q)  // rows 0-7 and 8-15 of the same byte side by side
#pragma GCC unroll 2
    for (int c = 0; c < 2; ++c)
      rows[4 * q + 2 * c] = _mm_unpacklo_epi64(a[4 * q + 2 * c], a[4 * q + 2 * c + 1]),
      rows[4 * q + 2 * c + 1] = _mm_unpackhi_epi64(a[4 * q + 2 * c], a[4 * q + 2 * c + 1]);
}

// 8 levels (bytes) as fp32 weights, scale · level + offset lane by lane.
template <bool is_signed>
inline __m256 side_weights(__m128i levels, __m256 scale, __m256 offset) {
  const __m256i wide = is_signed ? _mm256_cvtepi8_epi32(levels) : _mm256_cvtepu8_epi32(levels);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(wide), scale, offset);
}

// Decodes up to 16 weight rows from `weights` into the scratch, turned on their side;
// rows past `count` are zero. Decode unit by decode unit: the 16 rows' levels as bytes
// and their scales and offsets, then per 16 inputs the bytes transposed, widened and
// scaled, 8 rows to a vector.
template <DType type>
void decode_on_side(const uint8_t* weights, int64_t row_bytes, int64_t count, int64_t n, SideScratch& scratch) {
  using Unit = DecodeUnit<type>;
  const int64_t unit_bytes = dtype_info(type).block_bytes;
  __m128i* level_bytes = scratch.level_bytes;
  for (int64_t unit = 0; unit < n / Unit::elems; ++unit) {
    alignas(32) float scale[Unit::sub_blocks][kTileRows], offset[Unit::sub_blocks][kTileRows];
    for (int r = 0; r < kTileRows; ++r) {
      LevelBytes sub_block[Unit::sub_blocks] = {};
      if (r < count) {
        const uint8_t* bytes = weights + r * row_bytes + unit * unit_bytes;
        // The next group's same unit, which this thread most likely decodes next.
        for (int64_t line = 0; line < unit_bytes; line += 64)
          _mm_prefetch(reinterpret_cast<const char*>(bytes + kTileRows * row_bytes + line), _MM_HINT_T0);
        Unit::levels(bytes, sub_block);
        Unit::scales(bytes, &scale[0][r], &offset[0][r], kTileRows);
      } else {
        for (int s = 0; s < Unit::sub_blocks; ++s) scale[s][r] = offset[s][r] = 0;
      }
      for (int s = 0; s < Unit::sub_blocks; ++s)
        level_bytes[(2 * s) * kTileRows + r] = sub_block[s].first, level_bytes[(2 * s + 1) * kTileRows + r] = sub_block[s].second;
    }
    for (int s = 0; s < Unit::sub_blocks; ++s) {
      const __m256 low_scale = _mm256_load_ps(scale[s]), high_scale = _mm256_load_ps(scale[s] + 8);
      const __m256 low_offset = _mm256_load_ps(offset[s]), high_offset = _mm256_load_ps(offset[s] + 8);
      for (int part = 0; part < 2; ++part) {
        __m128i columns[kTileRows];  // row r's 16 levels, then (transposed) level j of every row
#pragma GCC unroll 16
        for (int r = 0; r < kTileRows; ++r) columns[r] = level_bytes[(2 * s + part) * kTileRows + r];
        transpose_bytes_16x16(columns);
        float* to = scratch.weights[size_t((unit * Unit::sub_blocks + s) * kBlock + part * kTileRows)].row;
#pragma GCC unroll 16
        for (int j = 0; j < kTileRows; ++j) {
          _mm256_store_ps(to + j * kTileRows, side_weights<Unit::is_signed>(columns[j], low_scale, low_offset));
          _mm256_store_ps(to + j * kTileRows + 8,
                          side_weights<Unit::is_signed>(_mm_unpackhi_epi64(columns[j], columns[j]), high_scale, high_offset));
        }
      }
    }
  }
}

// Activation rows x[0..I) against a decoded group: lane r of sums[i] and sums[I + i]
// adds weight row r and 8 + r times input j of activation row i, an input broadcast
// times two vectors of weights; then each activation row's sums are stored, as many
// as the group has rows. 12 sums, two weight vectors and a broadcast fill the 16
// registers: per input 2 loads and 6 broadcasts for 12 multiply-adds.
template <int I>
void multiply_on_side(const SideScratch::Column* weights, const float* x, int64_t n, float* out, int64_t out_stride,
                      int64_t count) {
  __m256 sums[2 * I];
#pragma GCC unroll 12
  for (int i = 0; i < 2 * I; ++i) sums[i] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    const __m256 low = _mm256_load_ps(weights[j].row), high = _mm256_load_ps(weights[j].row + 8);
#pragma GCC unroll 6
    for (int i = 0; i < I; ++i) {
      const __m256 input = _mm256_broadcast_ss(x + i * n + j);
      sums[i] = _mm256_fmadd_ps(input, low, sums[i]);
      sums[I + i] = _mm256_fmadd_ps(input, high, sums[I + i]);
    }
  }
  const auto present = [](int64_t rows) {  // lanes below `rows` all ones
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rows)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  };
  const __m256i low_present = present(count), high_present = present(count - 8);
#pragma GCC unroll 6
  for (int i = 0; i < I; ++i) {
    _mm256_maskstore_ps(out + i * out_stride, low_present, sums[i]);
    _mm256_maskstore_ps(out + i * out_stride + 8, high_present, sums[I + i]);
  }
}

// Up to 16 weight rows against the activations with AVX2: decoded once on their side,
// then multiplied with 6 activation rows at a time.
template <DType type>
void side_group(const uint8_t* weights, int64_t row_bytes, int64_t count, const ActivationRows& x, int64_t m,
                int64_t n, float* out, int64_t out_stride, SideScratch& scratch) {
  decode_on_side<type>(weights, row_bytes, count, n, scratch);
  constexpr int kPass = 6;
  for (int64_t i = 0; i < m; i += kPass) {
    const float* rows = x.x + i * n;
    float* to = out + i * out_stride;
    const SideScratch::Column* w = scratch.weights.data();
    switch (std::min<int64_t>(kPass, m - i)) {
      case 6: multiply_on_side<6>(w, rows, n, to, out_stride, count); break;
      case 5: multiply_on_side<5>(w, rows, n, to, out_stride, count); break;
      case 4: multiply_on_side<4>(w, rows, n, to, out_stride, count); break;
      case 3: multiply_on_side<3>(w, rows, n, to, out_stride, count); break;
      case 2: multiply_on_side<2>(w, rows, n, to, out_stride, count); break;
      default: multiply_on_side<1>(w, rows, n, to, out_stride, count); break;
    }
  }
}

// Groups of weight rows (Engine::kRows) of every matrix split among the threads, each
// with its own scratch: made before the region (an exception inside one would end the
// program) and kept by the calling thread from call to call.
template <DType type, typename Engine>
void tiled_dots_of(std::span<const TiledWeights> matrices, const float* x, int64_t m, int64_t n) {
  constexpr int64_t kRows = Engine::kRows;
  const typename Engine::Activations activations(x, m, n);
  using Scratch = typename Engine::Scratch;
  thread_local std::vector<Scratch> kept;
  std::vector<Scratch>& scratch = kept;  // the caller's: inside the region, `kept` is each thread's own
  scratch.resize(size_t(omp_get_max_threads()));
  for (Scratch& s : scratch) s.fit(n);
  std::vector<int64_t> first_group{0};  // of each matrix, in the loop's numbering; then the total
  for (const TiledWeights& w : matrices) first_group.push_back(first_group.back() + (w.rows + kRows - 1) / kRows);
  const int64_t groups = first_group.back();
#pragma omp parallel num_threads(int(scratch.size()))
  {
    activations.fill();
    [[maybe_unused]] const typename Engine::Scope engine_state;  // AMX: the tiles configured
    Scratch& mine = scratch[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      size_t i = 0;
      while (g >= first_group[i + 1]) ++i;
      const TiledWeights& w = matrices[i];
      const int64_t first = (g - first_group[i]) * kRows;
      Engine::template group<type>(w.weights + first * w.row_bytes, w.row_bytes,
                                   std::min<int64_t>(kRows, w.rows - first), activations, m, n, w.out + first,
                                   w.out_stride, mine);
    }
  }
}

// The engines tiled_dots_of runs: the weight rows a group takes, what the activations
// become, what holds a group's decoded rows, what the threads open around their
// groups, and what multiplies a group.
#ifdef WHET_AMX_TILES
struct OnAmxTiles {
  static constexpr int64_t kRows = kGroupRows;
  using Activations = ActivationTiles;
  using Scratch = GroupScratch<uint16_t>;
  using Scope = TileScope;  // best_tile_engine(): AMX wherever this engine runs
  template <DType type, typename... Args>
  static void group(Args&&... args) { tile_group<type>(std::forward<Args>(args)...); }
};
#endif

#ifdef WHET_GROUP_DOTS
struct OnAvx512 {
  static constexpr int64_t kRows = kGroupRows;
  using Activations = ActivationColumns;
  using Scratch = GroupScratch<float>;
  struct Scope {};
  template <DType type, typename... Args>
  static void group(Args&&... args) { vector_group<type>(std::forward<Args>(args)...); }
};
#endif

struct OnAvx2 {
  static constexpr int64_t kRows = kTileRows;
  using Activations = ActivationRows;
  using Scratch = SideScratch;
  struct Scope {};
  template <DType type, typename... Args>
  static void group(Args&&... args) { side_group<type>(std::forward<Args>(args)...); }
};

template <typename Engine>
void tiled_dots_on(DType type, std::span<const TiledWeights> matrices, const float* x, int64_t m, int64_t n) {
  switch (type) {
    case DType::Q8_0: return tiled_dots_of<DType::Q8_0, Engine>(matrices, x, m, n);
    case DType::Q4_0: return tiled_dots_of<DType::Q4_0, Engine>(matrices, x, m, n);
    case DType::Q4_1: return tiled_dots_of<DType::Q4_1, Engine>(matrices, x, m, n);
    case DType::Q5_0: return tiled_dots_of<DType::Q5_0, Engine>(matrices, x, m, n);
    case DType::Q5_1: return tiled_dots_of<DType::Q5_1, Engine>(matrices, x, m, n);
    case DType::Q4_K: return tiled_dots_of<DType::Q4_K, Engine>(matrices, x, m, n);
    default: return tiled_dots_of<DType::Q5_K, Engine>(matrices, x, m, n);
  }
}

#endif

}  // namespace

bool has_tiled_dots(DType type, TiledDotsEngine engine) {
  if (!tiles_take(type)) return false;
#ifdef WHET_AMX_TILES
  if (engine == TiledDotsEngine::amx_tiles) return amx_tiles_usable();
#endif
#ifdef WHET_GROUP_DOTS
  if (engine == TiledDotsEngine::avx512) return true;
#endif
#ifdef WHET_SIDE_DOTS
  if (engine == TiledDotsEngine::avx2) return true;
#endif
  return false;  // built for a CPU without them
}

bool has_tiled_dots(DType type) { return has_tiled_dots(type, best_tiled_dots_engine()); }

TiledDotsEngine best_tiled_dots_engine() {
  if (amx_tiles_usable()) return TiledDotsEngine::amx_tiles;
#ifdef WHET_GROUP_DOTS
  return TiledDotsEngine::avx512;
#else
  return TiledDotsEngine::avx2;
#endif
}

void tiled_dots(DType type, std::span<const TiledWeights> matrices, const float* x, int64_t m, int64_t n,
                TiledDotsEngine engine) {
  WHET_ASSERT(has_tiled_dots(type, engine) && m >= 1 && n > 0 && n % dtype_info(type).block_elems == 0);
#ifdef WHET_AMX_TILES
  if (engine == TiledDotsEngine::amx_tiles) return tiled_dots_on<OnAmxTiles>(type, matrices, x, m, n);
#endif
#ifdef WHET_GROUP_DOTS
  if (engine == TiledDotsEngine::avx512) return tiled_dots_on<OnAvx512>(type, matrices, x, m, n);
#endif
#ifdef WHET_SIDE_DOTS
  tiled_dots_on<OnAvx2>(type, matrices, x, m, n);
#endif
}

}  // namespace whet
