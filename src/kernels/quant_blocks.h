#pragma once
// Where the levels, scales and minima of each supported weight block sit, and
// how AVX2 code reads them in registers: the dot products of quant_dot.cpp and
// the AMX tile products of quant_tiles.cpp decode the same bits the same way.
//
// Every block holds 32 weights as w[j] = d·level[j] + offset:
//   Q8_0  34 B: d f16 | 32 x int8 level               offset 0
//   Q4_0  18 B: d f16 | 16 B nibbles (level 0..15)     offset -8d
//   Q4_1  20 B: d f16 | m f16 | 16 B nibbles           offset m
//   Q5_0  22 B: d f16 | 4 B fifth bits | 16 B nibbles (level 0..31)   offset -16d
//   Q5_1  24 B: d f16 | m f16 | 4 B fifth bits | 16 B nibbles        offset m
// so Σ w·x over a block = d·Σ level·x + offset·Σ x. The K-quants hold
// super-blocks of 256 with a scale per sub-block:
//   Q4_K 144 B, Q5_K 176 B: 8 sub-blocks of 32, w = d·scale_s·level − dmin·min_s
//   Q6_K 210 B: 16 groups of 16, w = d·scale_g·(level − 32), scale_g an int8
// (quant.cpp decodes them and says where each level's bits sit).
#include <cstdint>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "core/dtype.h"
#include "kernels/quant.h"

namespace whet::quant_blocks {

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

// d in lane 0 (and the minimum of Q4_1/Q5_1 in lane 1), widened in a vector register: the
// scalar conversion merges into a stale register and chains every block to the last.
template <DType type>
inline __m128 block_scale_and_min(const uint8_t* block) {
  const int bits = layout_of(type).has_min ? int(load_u16(block)) | int(load_u16(block + 2)) << 16 : int(load_u16(block));
  return _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
}


// Sub-blocks 2·pair (the low nibbles) and 2·pair + 1 (the high ones) of a Q4_K or Q5_K
// super-block, which share 32 nibble bytes; a Q5_K level's fifth bit is bit 2·pair or
// 2·pair + 1 of the byte at the same place in the 32 bytes before the nibbles.
struct KPair {
  LevelBytes sub_block[2];
};

template <bool fifth>
inline KPair k_sub_block_pair(const uint8_t* block, int pair) {
  const uint8_t* qs = block + (fifth ? 48 : 16) + 32 * pair;
  const __m128i first = load16(qs), second = load16(qs + 16);
  KPair p{{{low_nibbles(first), low_nibbles(second)}, {high_nibbles(first), high_nibbles(second)}}};
  if constexpr (fifth) {
    const __m128i bits_first = load16(block + 16), bits_second = load16(block + 32);
    for (int odd = 0; odd < 2; ++odd) {
      LevelBytes& l = p.sub_block[odd];
      l.first = _mm_or_si128(l.first, fifth_bit_of(bits_first, 2 * pair + odd));
      l.second = _mm_or_si128(l.second, fifth_bit_of(bits_second, 2 * pair + odd));
    }
  }
  return p;
}

// What the block's Σ x multiplies: its minimum (lane 1), or −zero·d.
template <DType type>
inline float block_offset(__m128 scale_and_min) {
  constexpr BlockLayout layout = layout_of(type);
  return layout.has_min ? _mm_cvtss_f32(_mm_movehdup_ps(scale_and_min)) : -layout.zero * _mm_cvtss_f32(scale_and_min);
}
#endif

}  // namespace whet::quant_blocks
