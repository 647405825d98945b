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
// Eight levels, as bytes in the low half of `bytes`, widened to fp32.
inline __m256 widen_unsigned(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }
inline __m256 widen_signed(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }

// Σ level_j · x_j over 16 levels, the bytes of `levels`, as eight partial sums.
template <bool is_signed>
inline __m256 dot16(__m128i levels, const float* x) {
  const __m128i upper = _mm_srli_si128(levels, 8);
  const __m256 front = is_signed ? widen_signed(levels) : widen_unsigned(levels);
  const __m256 back = is_signed ? widen_signed(upper) : widen_unsigned(upper);
  return _mm256_fmadd_ps(back, _mm256_loadu_ps(x + 8), _mm256_mul_ps(front, _mm256_loadu_ps(x)));
}

// The same over 32 levels: the bytes of `first` then those of `second`.
template <bool is_signed>
inline __m256 dot32(__m128i first, __m128i second, const float* x) {
  return _mm256_add_ps(dot16<is_signed>(first, x), dot16<is_signed>(second, x + 16));
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

// Σ level_j · x_j over one block, as eight partial sums. Nibble byte j holds
// level j in its low half and level j + 16 in its high half; a Q5 level's
// fifth bit is bit j of the 32-bit word before the nibbles.
template <DType type>
inline __m256 block_level_dot(const uint8_t* block, const float* x) {
  constexpr BlockLayout layout = layout_of(type);
  if constexpr (type == DType::Q8_0) return dot32<true>(load16(block + 2), load16(block + 18), x);
  const __m128i packed = load16(block + layout.levels_at);
  __m128i low = low_nibbles(packed), high = high_nibbles(packed);
  if constexpr (layout.fifth_bits_at >= 0) {
    const __m128i word = _mm_cvtsi32_si128(int(load_u32(block + layout.fifth_bits_at)));
    low = _mm_or_si128(low, fifth_bit_values(word, _mm_set_epi64x(0x0101010101010101, 0)));
    high = _mm_or_si128(high, fifth_bit_values(word, _mm_set_epi64x(0x0303030303030303, 0x0202020202020202)));
  }
  return dot32<false>(low, high, x);
}

// d in lane 0 (and the minimum of Q4_1/Q5_1 in lane 1), widened in a vector register: the
// scalar conversion merges into a stale register and chains every block to the last.
template <DType type>
inline __m128 block_scale_and_min(const uint8_t* block) {
  const int bits = layout_of(type).has_min ? int(load_u16(block)) | int(load_u16(block + 2)) << 16 : int(load_u16(block));
  return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}

template <DType type>
inline void accumulate_block(const uint8_t* block, const float* x, float block_sum, __m256& acc, __m128& offsets) {
  constexpr BlockLayout layout = layout_of(type);
  const __m128 dm = block_scale_and_min<type>(block);
  acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dm), block_level_dot<type>(block, x), acc);
  if constexpr (layout.has_min || layout.zero != 0) {
    const __m128 offset = layout.has_min ? _mm_movehdup_ps(dm) : _mm_mul_ss(dm, _mm_set_ss(-layout.zero));
    offsets = _mm_fmadd_ss(offset, _mm_set_ss(block_sum), offsets);
  }
}

inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 16 if bit `bit` of each byte is set, else 0: a Q5_K level's fifth bit, ready to OR into its nibble.
inline __m128i fifth_bit_of(__m128i bytes, int bit) {
  const __m128i mask = _mm_set1_epi8(char(1 << bit));
  return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(bytes, mask), mask), _mm_set1_epi8(16));
}

// One Q4_K or Q5_K super-block: each sub-block's level dot scaled by d·scale into acc,
// and −dmin·min times its activation sum (sums: the eight block sums of 32) into offsets.
template <bool fifth>
inline void accumulate_k_superblock(const uint8_t* block, const float* x, const float* sums, __m256& acc,
                                    float& offsets) {
  const float d = load_f16(block), dmin = load_f16(block + 2);
  uint8_t scale[8], min[8];
  unpack_k_scales(block + 4, scale, min);
  const uint8_t* fifth_bits = block + 16;
  const uint8_t* qs = block + (fifth ? 48 : 16);
  for (int pair = 0; pair < 4; ++pair) {  // sub-blocks 2·pair (low nibbles) and 2·pair + 1 (high)
    const __m128i first = load16(qs + 32 * pair), second = load16(qs + 32 * pair + 16);
    __m128i low0 = low_nibbles(first), low1 = low_nibbles(second);
    __m128i high0 = high_nibbles(first), high1 = high_nibbles(second);
    if constexpr (fifth) {
      const __m128i bits0 = load16(fifth_bits), bits1 = load16(fifth_bits + 16);
      low0 = _mm_or_si128(low0, fifth_bit_of(bits0, 2 * pair));
      low1 = _mm_or_si128(low1, fifth_bit_of(bits1, 2 * pair));
      high0 = _mm_or_si128(high0, fifth_bit_of(bits0, 2 * pair + 1));
      high1 = _mm_or_si128(high1, fifth_bit_of(bits1, 2 * pair + 1));
    }
    const float* xs = x + 64 * pair;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * float(scale[2 * pair])), dot32<false>(low0, low1, xs), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * float(scale[2 * pair + 1])), dot32<false>(high0, high1, xs + 32), acc);
  }
  for (int s = 0; s < 8; ++s) offsets -= dmin * float(min[s]) * sums[s];
}

// One Q6_K super-block. In half h, element 32k + l takes nibble k / 2 of ql[64h + 32(k % 2) + l]
// and bits 2k, 2k+1 of qh[32h + l]; levels are stored + 32.
inline void accumulate_q6_k_superblock(const uint8_t* block, const float* x, __m256& acc) {
  const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
  const float d = load_f16(block + 208);
  const __m128i two_bits = _mm_set1_epi8(3), thirty_two = _mm_set1_epi8(32);
  for (int half = 0; half < 2; ++half) {
    for (int group = 0; group < 2; ++group) {  // l in [16·group, 16·group + 16)
      const uint8_t* ql = block + 64 * half + 16 * group;
      const __m128i first = load16(ql), second = load16(ql + 32), high = load16(block + 128 + 32 * half + 16 * group);
      const __m128i nibbles[4] = {low_nibbles(first), low_nibbles(second), high_nibbles(first), high_nibbles(second)};
      for (int k = 0; k < 4; ++k) {
        const __m128i top = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(high, 2 * k), two_bits), 4);
        const __m128i level = _mm_sub_epi8(_mm_or_si128(nibbles[k], top), thirty_two);
        const float factor = d * float(scales[8 * half + 2 * k + group]);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(factor), dot16<true>(level, x + 128 * half + 32 * k + 16 * group), acc);
      }
    }
  }
}

float fused_dot_k_avx2(DType type, const uint8_t* row, const float* x, const float* block_sums, int64_t n) {
  const int64_t bytes = dtype_info(type).block_bytes, superblocks = n / 256;
  __m256 acc = _mm256_setzero_ps();
  float offsets = 0;
  for (int64_t b = 0; b < superblocks; ++b) {
    const uint8_t* block = row + b * bytes;
    const float* xs = x + b * 256;
    if (type == DType::Q4_K) accumulate_k_superblock<false>(block, xs, block_sums + 8 * b, acc, offsets);
    else if (type == DType::Q5_K) accumulate_k_superblock<true>(block, xs, block_sums + 8 * b, acc, offsets);
    else accumulate_q6_k_superblock(block, xs, acc);
  }
  return horizontal_sum(acc) + offsets;
}

template <DType type>
float fused_dot_avx2(const uint8_t* row, const float* x, const float* block_sums, int64_t blocks) {
  constexpr int bytes = layout_of(type).bytes;
  // Two accumulators so that consecutive blocks do not wait on one fma chain.
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m128 offsets0 = _mm_setzero_ps(), offsets1 = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 1 < blocks; b += 2) {
    accumulate_block<type>(row + b * bytes, x + b * kBlock, block_sums[b], acc0, offsets0);
    accumulate_block<type>(row + (b + 1) * bytes, x + (b + 1) * kBlock, block_sums[b + 1], acc1, offsets1);
  }
  if (b < blocks) accumulate_block<type>(row + b * bytes, x + b * kBlock, block_sums[b], acc0, offsets0);
  return horizontal_sum(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_add_ss(offsets0, offsets1));
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

float fused_dot(DType type, const uint8_t* weight_row, const float* x, const float* block_sums, int64_t n) {
  WHET_ASSERT(has_fused_dot(type) && n % dtype_info(type).block_elems == 0);
#ifdef __AVX2__
  if (is_k_quant(type)) return fused_dot_k_avx2(type, weight_row, x, block_sums, n);
  const int64_t blocks = n / kBlock;
  switch (type) {
    case DType::Q8_0: return fused_dot_avx2<DType::Q8_0>(weight_row, x, block_sums, blocks);
    case DType::Q4_0: return fused_dot_avx2<DType::Q4_0>(weight_row, x, block_sums, blocks);
    case DType::Q4_1: return fused_dot_avx2<DType::Q4_1>(weight_row, x, block_sums, blocks);
    case DType::Q5_0: return fused_dot_avx2<DType::Q5_0>(weight_row, x, block_sums, blocks);
    default: return fused_dot_avx2<DType::Q5_1>(weight_row, x, block_sums, blocks);
  }
#else
  return float(fused_dot_reference(type, weight_row, x, n));
#endif
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
