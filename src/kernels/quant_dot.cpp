#include "kernels/quant_dot.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "core/error.h"
#include "kernels/quant.h"

// Every supported block holds 32 weights as w[j] = d·level[j] + offset:
//   Q8_0  34 B: d f16 | 32 x int8 level               offset 0
//   Q4_0  18 B: d f16 | 16 B nibbles (level 0..15)     offset -8d
//   Q4_1  20 B: d f16 | m f16 | 16 B nibbles           offset m
//   Q5_0  22 B: d f16 | 4 B fifth bits | 16 B nibbles (level 0..31)   offset -16d
//   Q5_1  24 B: d f16 | m f16 | 4 B fifth bits | 16 B nibbles        offset m
// so Σ w·x over a block = d·Σ level·x + offset·Σ x, and the per-element work
// is widening a level to fp32 and one fused multiply-add. The K-quants hold
// super-blocks of 256 with a scale per sub-block:
//   Q4_K 144 B, Q5_K 176 B: 8 sub-blocks of 32, w = d·scale_s·level − dmin·min_s
//   Q6_K 210 B: 16 groups of 16, w = d·scale_g·(level − 32), scale_g an int8
// (quant.cpp decodes them and says where each level's bits sit).
namespace whet {

namespace {

constexpr int64_t kBlock = 32;

// Where a block's fields sit; the level of a symmetric type (no minimum) is offset by `zero`.
struct BlockLayout {
  int bytes;
  bool has_min;
  int fifth_bits_at;  // -1: four-bit levels
  int levels_at;
  float zero;
};

constexpr BlockLayout layout_of(DType type) {
  switch (type) {
    case DType::Q8_0: return {34, false, -1, 2, 0};
    case DType::Q4_0: return {18, false, -1, 2, 8};
    case DType::Q4_1: return {20, true, -1, 4, 0};
    case DType::Q5_0: return {22, false, 2, 6, 16};
    case DType::Q5_1: return {24, true, 4, 8, 0};
    default: return {0, false, -1, 0, 0};
  }
}

#ifdef __AVX2__
// How far ahead of the block being decoded its row is fetched into cache. Without it
// a decode step waited on each block's first load (a third of the kernel's samples
// under perf), reading the weights at 3 GB/s of the machine's 20: one sequence's
// step went 64-70 → 106-121 tokens/s (whet bench batch; 256 bytes ahead gained
// nothing, 1024 gave 81-110, 4096 100-119). A thread's rows are consecutive, so
// this runs on into its next rows.
constexpr int64_t kPrefetchAhead = 2048;

inline void prefetch_ahead(const uint8_t* block) {
  _mm_prefetch(reinterpret_cast<const char*>(block + kPrefetchAhead), _MM_HINT_T0);
}

// Eight levels, as bytes in the low half of `bytes`, widened to fp32.
inline __m256 widen_unsigned(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }
inline __m256 widen_signed(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }

// 32 levels widened to fp32 in element order: a block, a K-quant sub-block, or two
// Q6_K groups of 16. Decoded once, they multiply every activation row of a step.
struct Levels {
  __m256 part[4];
};

// The bytes of `first` then those of `second`, as levels.
template <bool is_signed>
inline Levels widen32(__m128i first, __m128i second) {
  const auto widen = [](__m128i b) { return is_signed ? widen_signed(b) : widen_unsigned(b); };
  return {{widen(first), widen(_mm_srli_si128(first, 8)), widen(second), widen(_mm_srli_si128(second, 8))}};
}

// The levels times a factor: `first` for elements 0-15, `second` for 16-31.
inline Levels scaled(const Levels& l, __m256 first, __m256 second) {
  return {{_mm256_mul_ps(l.part[0], first), _mm256_mul_ps(l.part[1], first), _mm256_mul_ps(l.part[2], second),
           _mm256_mul_ps(l.part[3], second)}};
}

inline __m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i low_nibbles(__m128i bytes) { return _mm_and_si128(bytes, _mm_set1_epi8(15)); }
inline __m128i high_nibbles(__m128i bytes) { return _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15)); }

// 16 bits of `word` (bytes picked by `byte_of_lane`: each lane's bit is bit lane % 8 of that
// byte) as 16 bytes of 0 or 16: the fifth bits of Q5 levels, ready to OR into their nibbles.
inline __m128i fifth_bit_values(__m128i word, __m128i byte_of_lane) {
  const __m128i bit_of_lane = _mm_set1_epi64x(int64_t(0x8040201008040201));
  const __m128i picked = _mm_and_si128(_mm_shuffle_epi8(word, byte_of_lane), bit_of_lane);
  return _mm_and_si128(_mm_cmpeq_epi8(picked, bit_of_lane), _mm_set1_epi8(16));
}

// 16 if bit `bit` of each byte is set, else 0: a Q5_K level's fifth bit, ready to OR into its nibble.
inline __m128i fifth_bit_of(__m128i bytes, int bit) {
  const __m128i mask = _mm_set1_epi8(char(1 << bit));
  return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(bytes, mask), mask), _mm_set1_epi8(16));
}

// One block's levels as bytes: elements 0-15 in `first`, 16-31 in `second` (signed
// for Q8_0). Nibble byte j holds level j in its low half and level j + 16 in its high
// half; a Q5 level's fifth bit is bit j of the 32-bit word before the nibbles.
struct LevelBytes {
  __m128i first, second;
};

template <DType type>
inline LevelBytes block_level_bytes(const uint8_t* block) {
  constexpr BlockLayout layout = layout_of(type);
  if constexpr (type == DType::Q8_0) return {load16(block + 2), load16(block + 18)};
  const __m128i packed = load16(block + layout.levels_at);
  __m128i low = low_nibbles(packed), high = high_nibbles(packed);
  if constexpr (layout.fifth_bits_at >= 0) {
    const __m128i word = _mm_cvtsi32_si128(int(load_u32(block + layout.fifth_bits_at)));
    low = _mm_or_si128(low, fifth_bit_values(word, _mm_set_epi64x(0x0101010101010101, 0)));
    high = _mm_or_si128(high, fifth_bit_values(word, _mm_set_epi64x(0x0303030303030303, 0x0202020202020202)));
  }
  return {low, high};
}

template <DType type>
inline Levels block_levels(const uint8_t* block) {
  const LevelBytes bytes = block_level_bytes<type>(block);
  return widen32<type == DType::Q8_0>(bytes.first, bytes.second);
}

// d in lane 0 (and the minimum of Q4_1/Q5_1 in lane 1), widened in a vector register: the
// scalar conversion merges into a stale register and chains every block to the last.
template <DType type>
inline __m128 block_scale_and_min(const uint8_t* block) {
  const int bits = layout_of(type).has_min ? int(load_u16(block)) | int(load_u16(block + 2)) << 16 : int(load_u16(block));
  return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// M activation rows against one weight row: each row's vector sums, in several
// chains when the rows are few (so that one row's fused multiply-adds do not wait
// on each other), and its scalar offsets (a block's Σ x times the block's offset).
template <int M>
struct RowSums {
  static constexpr int kChains = M >= 4 ? 1 : 4 / M;
  __m256 acc[kChains][M];
  float offsets[M] = {};
  RowSums() {
    for (auto& chain : acc)
      for (__m256& a : chain) a = _mm256_setzero_ps();
  }
  // Row i += Σ over 32 elements of weights · x[i · stride ...]: part k into chain k % kChains.
  // Unrolled whole, so that the sums stay in registers rather than round-tripping through memory.
  __attribute__((always_inline)) void add(const Levels& weights, const float* x, int64_t stride) {
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k)
        acc[k % kChains][i] = _mm256_fmadd_ps(weights.part[k], _mm256_loadu_ps(x + i * stride + 8 * k), acc[k % kChains][i]);
  }
  void finish(float* out, int64_t out_stride) const {
    for (int i = 0; i < M; ++i) {
      __m256 a = acc[0][i];
      for (int c = 1; c < kChains; ++c) a = _mm256_add_ps(a, acc[c][i]);
      out[i * out_stride] = horizontal_sum(a) + offsets[i];
    }
  }
};

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// Eight rows or more, on AVX-512: a block's 32 weights as two registers of 16,
// one chain per row. Once a block is decoded for all the rows, batched decoding
// is bound by these multiply-adds, and 16 lanes do twice the work of 8 (with
// 32 vector registers, 16 rows' sums stay in registers too).
template <int M>
  requires(M >= 8)
struct RowSums<M> {
  __m512 acc[M];
  float offsets[M] = {};
  RowSums() {
    for (__m512& a : acc) a = _mm512_setzero_ps();
  }
  __attribute__((always_inline)) void add(const Levels& weights, const float* x, int64_t stride) {
    const __m512 low = joined(weights.part[0], weights.part[1]), high = joined(weights.part[2], weights.part[3]);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      acc[i] = _mm512_fmadd_ps(low, _mm512_loadu_ps(x + i * stride), acc[i]);
      acc[i] = _mm512_fmadd_ps(high, _mm512_loadu_ps(x + i * stride + 16), acc[i]);
    }
  }
  void finish(float* out, int64_t out_stride) const {
    for (int i = 0; i < M; ++i) {
      const __m256 halves = _mm256_add_ps(_mm512_extractf32x8_ps(acc[i], 0), _mm512_extractf32x8_ps(acc[i], 1));
      out[i * out_stride] = horizontal_sum(halves) + offsets[i];
    }
  }

 private:
  // Two registers of 8 as one of 16, built on zeros (and halves taken by extracts
  // above): GCC 12's headers implement the casts and _mm512_reduce_add_ps with
  // undefined registers, which -Wuninitialized reports.
  static __m512 joined(__m256 first, __m256 second) {
    return _mm512_insertf32x8(_mm512_insertf32x8(_mm512_setzero_ps(), first, 0), second, 1);
  }
};
constexpr int kWidestRowGroup = 16;  // 16 rows' sums fit the 32 registers
#else
constexpr int kWidestRowGroup = 8;  // 16 rows' sums would not fit AVX2's 16 registers
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// One or two rows on AVX-512 (a decode step of one or two sequences): each half
// block's 16 levels widen in two instructions, and a row's block dot Σ level·x is
// taken first and scaled once (acc += d·dot), not level by level. Such a step is
// bound by this work, not by reading the weights: 52 → 66-70 tokens/s for one
// sequence, 78 → 104-107 for two (whet bench batch); from four rows on, scaling
// the levels once for all rows costs less (four: 144 against 133-138).
// Two chains (even and odd blocks) keep the scaling adds from waiting on each other.
template <DType type, int M>
void fused_dots_blocks_wide(const uint8_t* row, const float* x, const float* sums, int64_t n, float* out,
                            int64_t out_stride) {
  constexpr BlockLayout layout = layout_of(type);
  constexpr bool is_signed = type == DType::Q8_0;
  // The zero-masked forms (all lanes kept): GCC 12's plain ones start from undefined registers (see above).
  const auto widen16 = [](__m128i bytes) {
    constexpr __mmask16 all = 0xffff;
    return _mm512_maskz_cvtepi32_ps(
        all, is_signed ? _mm512_maskz_cvtepi8_epi32(all, bytes) : _mm512_maskz_cvtepu8_epi32(all, bytes));
  };
  const int64_t blocks = n / kBlock;
  __m512 acc[2][M];
  for (auto& chain : acc)
    for (__m512& a : chain) a = _mm512_setzero_ps();
  float offsets[M] = {};
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = row + b * layout.bytes;
    prefetch_ahead(block);
    const __m128 dm = block_scale_and_min<type>(block);
    const LevelBytes bytes = block_level_bytes<type>(block);
    const __m512 first = widen16(bytes.first), second = widen16(bytes.second), d = _mm512_set1_ps(_mm_cvtss_f32(dm));
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const float* xb = x + i * n + b * kBlock;
      const __m512 dot = _mm512_fmadd_ps(second, _mm512_loadu_ps(xb + 16), _mm512_mul_ps(first, _mm512_loadu_ps(xb)));
      acc[b & 1][i] = _mm512_fmadd_ps(dot, d, acc[b & 1][i]);
    }
    if constexpr (layout.has_min || layout.zero != 0) {
      const float offset = layout.has_min ? _mm_cvtss_f32(_mm_movehdup_ps(dm)) : -layout.zero * _mm_cvtss_f32(dm);
      for (int i = 0; i < M; ++i) offsets[i] += offset * sums[i * blocks + b];
    }
  }
  for (int i = 0; i < M; ++i) {
    const __m512 a = _mm512_add_ps(acc[0][i], acc[1][i]);
    const __m256 halves = _mm256_add_ps(_mm512_extractf32x8_ps(a, 0), _mm512_extractf32x8_ps(a, 1));
    out[i * out_stride] = horizontal_sum(halves) + offsets[i];
  }
}
#endif

// x: M rows of n activations; sums: M rows of n / 32 block sums.
template <DType type, int M>
void fused_dots_blocks(const uint8_t* row, const float* x, const float* sums, int64_t n, float* out, int64_t out_stride) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  if constexpr (M < 4) return fused_dots_blocks_wide<type, M>(row, x, sums, n, out, out_stride);
#endif
  constexpr BlockLayout layout = layout_of(type);
  const int64_t blocks = n / kBlock;
  RowSums<M> rows;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = row + b * layout.bytes;
    prefetch_ahead(block);
    const __m128 dm = block_scale_and_min<type>(block);
    const __m256 d = _mm256_broadcastss_ps(dm);
    rows.add(scaled(block_levels<type>(block), d, d), x + b * kBlock, n);
    if constexpr (layout.has_min || layout.zero != 0) {
      const float offset = layout.has_min ? _mm_cvtss_f32(_mm_movehdup_ps(dm)) : -layout.zero * _mm_cvtss_f32(dm);
      for (int i = 0; i < M; ++i) rows.offsets[i] += offset * sums[i * blocks + b];
    }
  }
  rows.finish(out, out_stride);
}

// Q4_K and Q5_K: sub-blocks 2·pair (low nibbles) and 2·pair + 1 (high) share 32 nibble bytes;
// w = d·scale·level − dmin·min, so the mins multiply the sub-blocks' activation sums.
template <bool fifth, int M>
void fused_dots_k(const uint8_t* row, const float* x, const float* sums, int64_t n, float* out, int64_t out_stride) {
  const int64_t bytes = fifth ? 176 : 144, sub_blocks = n / kBlock;
  RowSums<M> rows;
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* block = row + b * bytes;
    prefetch_ahead(block);
    const float d = load_f16(block), dmin = load_f16(block + 2);
    uint8_t scale[8], min[8];
    unpack_k_scales(block + 4, scale, min);
    const uint8_t* qs = block + (fifth ? 48 : 16);
    for (int pair = 0; pair < 4; ++pair) {
      const __m128i first = load16(qs + 32 * pair), second = load16(qs + 32 * pair + 16);
      __m128i low[2] = {low_nibbles(first), low_nibbles(second)}, high[2] = {high_nibbles(first), high_nibbles(second)};
      if constexpr (fifth) {
        for (int h = 0; h < 2; ++h) {
          const __m128i bits = load16(block + 16 + 16 * h);
          low[h] = _mm_or_si128(low[h], fifth_bit_of(bits, 2 * pair));
          high[h] = _mm_or_si128(high[h], fifth_bit_of(bits, 2 * pair + 1));
        }
      }
      for (int odd = 0; odd < 2; ++odd) {
        const int s = 2 * pair + odd;
        const __m256 factor = _mm256_set1_ps(d * float(scale[s]));
        const Levels levels = odd ? widen32<false>(high[0], high[1]) : widen32<false>(low[0], low[1]);
        const int64_t at = b * 256 + 32 * s;
        rows.add(scaled(levels, factor, factor), x + at, n);
        for (int i = 0; i < M; ++i) rows.offsets[i] -= dmin * float(min[s]) * sums[i * sub_blocks + at / kBlock];
      }
    }
  }
  rows.finish(out, out_stride);
}

// Q6_K: in half h, element 32k + l takes nibble k / 2 of ql[64h + 32(k % 2) + l] and bits
// 2k, 2k+1 of qh[32h + l]; levels are stored + 32, and each 16 elements share an int8 scale.
template <int M>
void fused_dots_q6_k(const uint8_t* row, const float* x, const float*, int64_t n, float* out, int64_t out_stride) {
  const __m128i two_bits = _mm_set1_epi8(3), thirty_two = _mm_set1_epi8(32);
  RowSums<M> rows;
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* block = row + b * 210;
    prefetch_ahead(block);
    const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
    const float d = load_f16(block + 208);
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 4; ++k) {
        __m128i group_levels[2];  // l in [16·group, 16·group + 16)
        for (int group = 0; group < 2; ++group) {
          const __m128i low = load16(block + 64 * half + 32 * (k % 2) + 16 * group);
          const __m128i high = load16(block + 128 + 32 * half + 16 * group);
          const __m128i nibble = k < 2 ? low_nibbles(low) : high_nibbles(low);
          const __m128i top = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(high, 2 * k), two_bits), 4);
          group_levels[group] = _mm_sub_epi8(_mm_or_si128(nibble, top), thirty_two);
        }
        const __m256 first = _mm256_set1_ps(d * float(scales[8 * half + 2 * k]));
        const __m256 second = _mm256_set1_ps(d * float(scales[8 * half + 2 * k + 1]));
        rows.add(scaled(widen32<true>(group_levels[0], group_levels[1]), first, second),
                 x + b * 256 + 128 * half + 32 * k, n);
      }
    }
  }
  rows.finish(out, out_stride);
}

template <int M>
void fused_dots_vector(DType type, const uint8_t* row, const float* x, const float* sums, int64_t n, float* out,
                     int64_t out_stride) {
  switch (type) {
    case DType::Q8_0: return fused_dots_blocks<DType::Q8_0, M>(row, x, sums, n, out, out_stride);
    case DType::Q4_0: return fused_dots_blocks<DType::Q4_0, M>(row, x, sums, n, out, out_stride);
    case DType::Q4_1: return fused_dots_blocks<DType::Q4_1, M>(row, x, sums, n, out, out_stride);
    case DType::Q5_0: return fused_dots_blocks<DType::Q5_0, M>(row, x, sums, n, out, out_stride);
    case DType::Q5_1: return fused_dots_blocks<DType::Q5_1, M>(row, x, sums, n, out, out_stride);
    case DType::Q4_K: return fused_dots_k<false, M>(row, x, sums, n, out, out_stride);
    case DType::Q5_K: return fused_dots_k<true, M>(row, x, sums, n, out, out_stride);
    default: return fused_dots_q6_k<M>(row, x, sums, n, out, out_stride);
  }
}
#endif

bool is_k_quant(DType type) { return type == DType::Q4_K || type == DType::Q5_K || type == DType::Q6_K; }

}  // namespace

bool has_fused_dot(DType type) { return layout_of(type).bytes != 0 || is_k_quant(type); }

std::vector<float> activation_block_sums(const float* x, int64_t n) {
  WHET_ASSERT(n % kBlock == 0);
  std::vector<float> sums(size_t(n / kBlock));
  for (int64_t b = 0; b < n / kBlock; ++b) {
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < kBlock; ++j) sum += x[b * kBlock + j];
    sums[size_t(b)] = sum;
  }
  return sums;
}

void fused_dots(DType type, const uint8_t* weight_row, const float* x, const float* block_sums, int64_t m, int64_t n,
                float* out, int64_t out_stride) {
  WHET_ASSERT(has_fused_dot(type) && n % dtype_info(type).block_elems == 0);
#ifdef __AVX2__
  // Rows in groups of (16 on AVX-512,) 8, 4, 2 and 1: each group decodes the weight row once.
  for (int64_t i = 0; i < m;) {
    const int64_t left = m - i, sums_at = i * (n / kBlock);
    float* o = out + i * out_stride;
    if (left >= kWidestRowGroup)
      fused_dots_vector<kWidestRowGroup>(type, weight_row, x + i * n, block_sums + sums_at, n, o, out_stride),
          i += kWidestRowGroup;
    else if (left >= 8) fused_dots_vector<8>(type, weight_row, x + i * n, block_sums + sums_at, n, o, out_stride), i += 8;
    else if (left >= 4) fused_dots_vector<4>(type, weight_row, x + i * n, block_sums + sums_at, n, o, out_stride), i += 4;
    else if (left >= 2) fused_dots_vector<2>(type, weight_row, x + i * n, block_sums + sums_at, n, o, out_stride), i += 2;
    else fused_dots_vector<1>(type, weight_row, x + i * n, block_sums + sums_at, n, o, out_stride), i += 1;
  }
#else
  for (int64_t i = 0; i < m; ++i) out[i * out_stride] = float(fused_dot_reference(type, weight_row, x + i * n, n));
#endif
}

float fused_dot(DType type, const uint8_t* weight_row, const float* x, const float* block_sums, int64_t n) {
  float out = 0;
  fused_dots(type, weight_row, x, block_sums, 1, n, &out, 1);
  return out;
}

double fused_dot_reference(DType type, const uint8_t* weight_row, const float* x, int64_t n) {
  const DTypeInfo& info = dtype_info(type);
  WHET_ASSERT(has_fused_dot(type) && n % info.block_elems == 0);
  std::vector<float> w(size_t(info.block_elems));
  double sum = 0;
  for (int64_t b = 0; b < n / info.block_elems; ++b) {
    dequantize(type, weight_row + b * info.block_bytes, w.data(), info.block_elems);
    for (int64_t j = 0; j < info.block_elems; ++j) sum += double(w[size_t(j)]) * x[b * info.block_elems + j];
  }
  return sum;
}

}  // namespace whet
