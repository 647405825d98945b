#pragma once
// A 16 x 16 transpose of 32-bit elements in AVX-512 registers: the AMX kernels
// lay rows out as tile columns with it (quant_tiles: pairs of bf16 activations;
// attention_tiles: score tiles as the left operand of the key gradients).
#include <immintrin.h>

namespace whet {

#ifdef __AVX512F__
// rows[i] holds element j of row i in lane j; afterwards rows[j] holds it in lane i.
// Always inlined: as a call, its 16 registers went through memory and back.
[[gnu::always_inline]] inline void transpose_16x16(__m512i rows[16]) {
  constexpr __mmask16 all = 0xffff;  // zero-masked forms: see quant_dot.cpp on GCC 12's undefined registers
  __m512i t[16];
  for (int k = 0; k < 16; k += 2) {  // pairs of rows, interleaved within each 128-bit lane
    t[k] = _mm512_maskz_unpacklo_epi32(all, rows[k], rows[k + 1]);
    t[k + 1] = _mm512_maskz_unpackhi_epi32(all, rows[k], rows[k + 1]);
  }
  for (int k = 0; k < 16; k += 4) {  // rows[k + j], lane L: element 4L + j of rows k..k + 3
    rows[k] = _mm512_maskz_unpacklo_epi64(0xff, t[k], t[k + 2]);
    rows[k + 1] = _mm512_maskz_unpackhi_epi64(0xff, t[k], t[k + 2]);
    rows[k + 2] = _mm512_maskz_unpacklo_epi64(0xff, t[k + 1], t[k + 3]);
    rows[k + 3] = _mm512_maskz_unpackhi_epi64(0xff, t[k + 1], t[k + 3]);
  }
  for (int j = 0; j < 4; ++j) {  // lane L of rows j, 4 + j, 8 + j, 12 + j side by side: element 4L + j
    const __m512i low01 = _mm512_maskz_shuffle_i32x4(all, rows[j], rows[4 + j], 0x44);
    const __m512i high01 = _mm512_maskz_shuffle_i32x4(all, rows[j], rows[4 + j], 0xee);
    const __m512i low23 = _mm512_maskz_shuffle_i32x4(all, rows[8 + j], rows[12 + j], 0x44);
    const __m512i high23 = _mm512_maskz_shuffle_i32x4(all, rows[8 + j], rows[12 + j], 0xee);
    t[j] = _mm512_maskz_shuffle_i32x4(all, low01, low23, 0x88);
    t[4 + j] = _mm512_maskz_shuffle_i32x4(all, low01, low23, 0xdd);
    t[8 + j] = _mm512_maskz_shuffle_i32x4(all, high01, high23, 0x88);
    t[12 + j] = _mm512_maskz_shuffle_i32x4(all, high01, high23, 0xdd);
  }
  for (int k = 0; k < 16; ++k) rows[k] = t[k];
}
#endif

}  // namespace whet
