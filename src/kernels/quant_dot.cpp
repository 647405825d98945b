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
// is widening a level to fp32 and one fused multiply-add.
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
  __m256 l0, l1, l2, l3;
  if constexpr (type == DType::Q8_0) {
    const __m128i first = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
    const __m128i second = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 18));
    l0 = widen_signed(first);
    l1 = widen_signed(_mm_srli_si128(first, 8));
    l2 = widen_signed(second);
    l3 = widen_signed(_mm_srli_si128(second, 8));
  } else {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + layout.levels_at));
    const __m128i nibble = _mm_set1_epi8(15);
    __m128i low = _mm_and_si128(packed, nibble), high = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
    if constexpr (layout.fifth_bits_at >= 0) {
      const __m128i word = _mm_cvtsi32_si128(int(load_u32(block + layout.fifth_bits_at)));
      low = _mm_or_si128(low, fifth_bit_values(word, _mm_set_epi64x(0x0101010101010101, 0)));
      high = _mm_or_si128(high, fifth_bit_values(word, _mm_set_epi64x(0x0303030303030303, 0x0202020202020202)));
    }
    l0 = widen_unsigned(low);
    l1 = widen_unsigned(_mm_srli_si128(low, 8));
    l2 = widen_unsigned(high);
    l3 = widen_unsigned(_mm_srli_si128(high, 8));
  }
  const __m256 front = _mm256_fmadd_ps(l1, _mm256_loadu_ps(x + 8), _mm256_mul_ps(l0, _mm256_loadu_ps(x)));
  const __m256 back = _mm256_fmadd_ps(l3, _mm256_loadu_ps(x + 24), _mm256_mul_ps(l2, _mm256_loadu_ps(x + 16)));
  return _mm256_add_ps(front, back);
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

}  // namespace

bool has_fused_dot(DType type) { return layout_of(type).bytes != 0; }

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
  WHET_ASSERT(has_fused_dot(type) && n % kBlock == 0);
#ifdef __AVX2__
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
  WHET_ASSERT(has_fused_dot(type) && n % kBlock == 0);
  const int64_t block_bytes = dtype_info(type).block_bytes;
  float w[kBlock];
  double sum = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    dequantize(type, weight_row + b * block_bytes, w, kBlock);
    for (int64_t j = 0; j < kBlock; ++j) sum += double(w[j]) * x[b * kBlock + j];
  }
  return sum;
}

}  // namespace whet
