#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#ifdef __F16C__
#include <immintrin.h>
#endif

#include "core/error.h"

// Block layouts (ggml's block_q8_0, block_q4_0, ... as stored in GGUF), all little-endian, f16 = binary16:
//   Q8_0  34 B: d f16 | 32 x int8 q                       x = q * d
//   Q4_0  18 B: d f16 | 16 B nibbles                      x = (q - 8) * d
//   Q4_1  20 B: d f16 | m f16 | 16 B nibbles              x = q * d + m
//   Q5_0  22 B: d f16 | 4 B fifth bits | 16 B nibbles     x = (q - 16) * d
//   Q5_1  24 B: d f16 | m f16 | 4 B fifth bits | 16 B nibbles   x = q * d + m
//   Q4_K 144 B: d f16 | dmin f16 | 12 B scales | 128 B nibbles
//   Q5_K 176 B: d f16 | dmin f16 | 12 B scales | 32 B fifth bits | 128 B nibbles
//   Q6_K 210 B: 128 B low nibbles | 64 B high 2-bit pairs | 16 x int8 scales | d f16
// Inner loops carry `omp simd`: it asks for vectorisation only; callers spread rows over threads.
namespace whet {

namespace {

inline void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Calls visit(first element index, byte offset of its block) for each block of n elements.
template <typename Visit>
void for_each_block(DType type, int64_t n, Visit visit) {
  const DTypeInfo& info = dtype_info(type);
  WHET_ASSERT(n % info.block_elems == 0);
  for (int64_t i = 0, offset = 0; i < n; i += info.block_elems, offset += info.block_bytes) visit(i, size_t(offset));
}

// Q4_0, Q4_1, Q5_0 and Q5_1: byte j holds the low 4 bits of element j in its low nibble and those
// of element j + 16 in its high nibble; the Q5 types add bit e of the little-endian word
// `fifth_bits` as bit 4 of element e (Q4 types pass 0).
void dequantize_nibbles(const uint8_t* qs, uint32_t fifth_bits, float d, float m, int bias, float* y) {
#pragma omp simd
  for (int j = 0; j < 16; ++j) {
    const int low = (qs[j] & 15) | int((fifth_bits >> j) & 1) << 4;
    const int high = (qs[j] >> 4) | int((fifth_bits >> (j + 16)) & 1) << 4;
    y[j] = float(low - bias) * d + m;
    y[j + 16] = float(high - bias) * d + m;
  }
}

// Q4_K and Q5_K: 8 sub-blocks of 32. Sub-blocks 2c and 2c+1 share nibble bytes qs[32c..32c+31]
// (low then high nibble); Q5_K's fifth bit of element l of sub-block s is bit s of fifth_bits[l].
void dequantize_k(const uint8_t* block, const uint8_t* fifth_bits, const uint8_t* qs, float* y) {
  const float d = load_f16(block), dmin = load_f16(block + 2);
  uint8_t scale[8], min[8];
  unpack_k_scales(block + 4, scale, min);
  for (int s = 0; s < 8; ++s) {
    const uint8_t* q = qs + 32 * (s / 2);
    const int shift = 4 * (s % 2);
    const float factor = d * float(scale[s]), offset = dmin * float(min[s]);
#pragma omp simd
    for (int l = 0; l < 32; ++l) {
      const int v = ((q[l] >> shift) & 15) | (((fifth_bits[l] >> s) & 1) << 4);
      y[32 * s + l] = factor * float(v) - offset;
    }
  }
}

// Q6_K: two halves of 128. In half h, element 32k + l (k = 0..3) takes nibble k / 2 of
// ql[64h + 32(k % 2) + l] and bits 2k, 2k+1 of qh[32h + l]; each 16 elements share one int8 scale.
void dequantize_q6_k(const uint8_t* block, float* y) {
  const uint8_t* ql = block;
  const uint8_t* qh = block + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
  const float d = load_f16(block + 208);
  for (int half = 0; half < 2; ++half) {
    for (int k = 0; k < 4; ++k) {
      const uint8_t* low = ql + 64 * half + 32 * (k % 2);
      const uint8_t* high = qh + 32 * half;
      float* out = y + 128 * half + 32 * k;
      for (int group = 0; group < 2; ++group) {  // 16 elements per scale
        const float scale = d * float(scales[8 * half + 2 * k + group]);
#pragma omp simd
        for (int l = 16 * group; l < 16 * group + 16; ++l) {
          const int v = ((low[l] >> (4 * (k / 2))) & 15) | (((high[l] >> (2 * k)) & 3) << 4);
          out[l] = scale * float(v - 32);
        }
      }
    }
  }
}

// Zero fifth bits turn the Q5_K decoder into the Q4_K one.
constexpr uint8_t kNoFifthBits[32] = {};

void quantize_q8_0_block(const float* x, uint8_t* block) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float inverse = d != 0 ? 1 / d : 0;
  store_u16(block, f32_to_f16(d));
  for (int j = 0; j < 32; ++j) block[2 + j] = uint8_t(int8_t(std::roundf(x[j] * inverse)));
}

// The first value of largest magnitude in a block of 32, with its sign.
float extreme_of_block(const float* x) {
  float amax = 0, extreme = 0;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      extreme = x[j];
    }
  }
  return extreme;
}

// Q4_0 and Q5_0 put the extreme at level 0 (d = extreme / -zero), so its side of zero gets the
// extra level. v * inverse + zero lies in [0, 2 zero]; adding 0.5 and truncating rounds to
// nearest, with one rounding of the fused multiply-add, as ggml's reference quantizer computes
// it on machines with fma (what gguf-py reproduces); the clamp takes 2 zero to the top level.
int symmetric_level(float v, float inverse, int zero) {
  return std::min(2 * zero - 1, int(std::fma(v, inverse, float(zero) + 0.5f)));
}

// Q5_1 rounds (v - min) * inverse before adding 0.5, as ggml's reference and gguf-py do: the
// double product of two floats is exact, so converting it to float rounds once, and the compiler
// cannot fuse that rounded product into the addition.
int asymmetric_level(float v, float min, float inverse) {
  const float scaled = float(double(v - min) * double(inverse));
  return std::min(31, int(scaled + 0.5f));
}

// 32 levels of 5 bits: bit j of the little-endian word at `fifth_bits` is bit 4 of level j, and
// nibble byte j holds the low 4 bits of levels j and j + 16.
template <typename Level>
void pack_five_bit_levels(const float* x, Level level, uint8_t* fifth_bits, uint8_t* qs) {
  uint32_t high_bits = 0;
  for (int j = 0; j < 16; ++j) {
    const int first = level(x[j]), second = level(x[j + 16]);
    qs[j] = uint8_t((first & 15) | (second & 15) << 4);
    high_bits |= uint32_t(first >> 4) << j | uint32_t(second >> 4) << (j + 16);
  }
  std::memcpy(fifth_bits, &high_bits, 4);
}

void quantize_q4_0_block(const float* x, uint8_t* block) {
  const float d = extreme_of_block(x) / -8;
  const float inverse = d != 0 ? 1 / d : 0;
  store_u16(block, f32_to_f16(d));
  auto level = [&](float v) { return symmetric_level(v, inverse, 8); };
  for (int j = 0; j < 16; ++j) block[2 + j] = uint8_t(level(x[j]) | (level(x[j + 16]) << 4));
}

void quantize_q5_0_block(const float* x, uint8_t* block) {
  const float d = extreme_of_block(x) / -16;
  const float inverse = d != 0 ? 1 / d : 0;
  store_u16(block, f32_to_f16(d));
  pack_five_bit_levels(x, [&](float v) { return symmetric_level(v, inverse, 16); }, block + 2, block + 6);
}

// The block's minimum is level 0 and its maximum level 31: d = (max - min) / 31, m = min.
void quantize_q5_1_block(const float* x, uint8_t* block) {
  const auto [lowest, highest] = std::minmax_element(x, x + 32);
  const float min = *lowest, d = (*highest - min) / 31;
  const float inverse = d != 0 ? 1 / d : 0;
  store_u16(block, f32_to_f16(d));
  store_u16(block + 2, f32_to_f16(min));
  pack_five_bit_levels(x, [&](float v) { return asymmetric_level(v, min, inverse); }, block + 4, block + 8);
}

}  // namespace

// The 12 scale bytes of Q4_K/Q5_K hold eight 6-bit scales and eight 6-bit mins. Sub-blocks 0-3
// use the low 6 bits of bytes 0-3 (scale) and 4-7 (min); sub-blocks 4-7 take their low 4 bits from
// the nibbles of bytes 8-11 and their top 2 bits from the spare top bits of bytes 0-3 / 4-7.
void unpack_k_scales(const uint8_t* s, uint8_t scale[8], uint8_t min[8]) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = s[j] & 63;
    min[j] = s[j + 4] & 63;
    scale[j + 4] = uint8_t((s[j + 8] & 15) | ((s[j] >> 6) << 4));
    min[j + 4] = uint8_t((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

void dequantize(DType type, const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::F16: {
      int64_t i = 0;
#ifdef __F16C__
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 2 * i))));
#endif
      for (; i < n; ++i) dst[i] = load_f16(bytes + 2 * i);
      return;
    }
    case DType::BF16:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(bytes + 2 * i));
      return;
    case DType::I32:
      for (int64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, bytes + 4 * i, 4);
        dst[i] = float(v);
      }
      return;
    case DType::Q8_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        const float d = load_f16(bytes + at);
        const auto* q = reinterpret_cast<const int8_t*>(bytes + at + 2);
#pragma omp simd
        for (int j = 0; j < 32; ++j) dst[i + j] = float(q[j]) * d;
      });
    case DType::Q4_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_nibbles(bytes + at + 2, 0, load_f16(bytes + at), 0.0f, 8, dst + i);
      });
    case DType::Q4_1:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_nibbles(bytes + at + 4, 0, load_f16(bytes + at), load_f16(bytes + at + 2), 0, dst + i);
      });
    case DType::Q5_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_nibbles(bytes + at + 6, load_u32(bytes + at + 2), load_f16(bytes + at), 0.0f, 16, dst + i);
      });
    case DType::Q5_1:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_nibbles(bytes + at + 8, load_u32(bytes + at + 4), load_f16(bytes + at), load_f16(bytes + at + 2), 0,
                           dst + i);
      });
    case DType::Q4_K:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_k(bytes + at, kNoFifthBits, bytes + at + 16, dst + i);
      });
    case DType::Q5_K:
      return for_each_block(type, n, [&](int64_t i, size_t at) {
        dequantize_k(bytes + at, bytes + at + 16, bytes + at + 48, dst + i);
      });
    case DType::Q6_K:
      return for_each_block(type, n, [&](int64_t i, size_t at) { dequantize_q6_k(bytes + at, dst + i); });
  }
  WHET_ASSERT(false && "unknown DType");
}

void quantize(DType type, const float* src, void* dst, int64_t n) {
  auto* bytes = static_cast<uint8_t*>(dst);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::F16: {
      // F16C rounds to nearest even as f32_to_f16 does (every new row of a half KV cache passes here).
      int64_t i = 0;
#ifdef __F16C__
      for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + 2 * i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
      for (; i < n; ++i) store_u16(bytes + 2 * i, f32_to_f16(src[i]));
      return;
    }
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) store_u16(bytes + 2 * i, f32_to_bf16(src[i]));
      return;
    case DType::Q8_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) { quantize_q8_0_block(src + i, bytes + at); });
    case DType::Q4_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) { quantize_q4_0_block(src + i, bytes + at); });
    case DType::Q5_0:
      return for_each_block(type, n, [&](int64_t i, size_t at) { quantize_q5_0_block(src + i, bytes + at); });
    case DType::Q5_1:
      return for_each_block(type, n, [&](int64_t i, size_t at) { quantize_q5_1_block(src + i, bytes + at); });
    default:
      WHET_ASSERT(false && "quantize() supports F32, F16, BF16, Q8_0, Q4_0, Q5_0 and Q5_1 only");
  }
}

}  // namespace whet
