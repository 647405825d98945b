#include "kernels/quant_dot.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "core/error.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

// The block layouts and their decoding in registers are in quant_blocks.h.
namespace whet {

namespace {

using namespace quant_blocks;

#ifdef __AVX2__
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

template <DType type>
inline Levels block_levels(const uint8_t* block) {
  const LevelBytes bytes = block_level_bytes<type>(block);
  return widen32<type == DType::Q8_0>(bytes.first, bytes.second);
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
      const float offset = block_offset<type>(dm);
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
      const float offset = block_offset<type>(dm);
      for (int i = 0; i < M; ++i) rows.offsets[i] += offset * sums[i * blocks + b];
    }
  }
  rows.finish(out, out_stride);
}

// Q4_K and Q5_K: w = d·scale·level − dmin·min, so the mins multiply the sub-blocks' activation sums.
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
    for (int pair = 0; pair < 4; ++pair) {
      const KPair levels_of = k_sub_block_pair<fifth>(block, pair);
      for (int odd = 0; odd < 2; ++odd) {
        const int s = 2 * pair + odd;
        const __m256 factor = _mm256_set1_ps(d * float(scale[s]));
        const Levels levels = widen32<false>(levels_of.sub_block[odd].first, levels_of.sub_block[odd].second);
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
