// Block encodings: blocks are assembled byte by byte here from the GGUF/ggml format definitions,
// and the expected values are computed from the same definitions, never from io/quant.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/quant.h"

namespace whet {
namespace {

// f16 bit patterns with exactly known values, for block scales.
struct Half {
  uint16_t bits;
  float value;
};
constexpr Half kHalf0_5{0x3800, 0.5f}, kHalf0_25{0x3400, 0.25f}, kHalfMinus0_5{0xb800, -0.5f},
    kHalfMinus1_5{0xbe00, -1.5f}, kHalf0_125{0x3000, 0.125f}, kHalf3{0x4200, 3.0f};

using Bytes = std::vector<uint8_t>;

void put_half(Bytes& b, size_t at, Half h) { std::memcpy(&b[at], &h.bits, 2); }

// Sets nibble `which` (0 = low, 1 = high) of byte b[at] to v.
void put_nibble(Bytes& b, size_t at, int which, int v) {
  b[at] = uint8_t((b[at] & (which ? 0x0f : 0xf0)) | (v << (4 * which)));
}

// Sets bits [bit, bit + width) of b[at] to v.
void put_bits(Bytes& b, size_t at, int bit, int width, int v) {
  const int mask = ((1 << width) - 1) << bit;
  b[at] = uint8_t((b[at] & ~mask) | ((v << bit) & mask));
}

// Deterministic pseudo-random levels in [0, range) for element e of block `block`.
int level(int block, int e, int range) { return (e * 7 + block * 13 + (e * e) % 5) % range; }

std::vector<float> dequantized(DType type, const Bytes& blocks, int64_t n) {
  std::vector<float> out(n);
  dequantize(type, blocks.data(), out.data(), n);
  return out;
}

void expect_equal(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << "element " << i;
}

// --- dequantize from hand-built blocks (two blocks each, so the block stride is exercised)

// Q8_0, 34 bytes: f16 d, then 32 int8 q; x = q * d.
TEST(Quant, DequantizeQ8_0) {
  Bytes b(2 * 34);
  std::vector<float> want;
  const Half scales[2] = {kHalf0_25, kHalfMinus1_5};
  for (int block = 0; block < 2; ++block) {
    put_half(b, 34 * block, scales[block]);
    for (int j = 0; j < 32; ++j) {
      const int q = j == 0 ? -128 : j == 1 ? 127 : level(block, j, 256) - 128;
      b[34 * block + 2 + j] = uint8_t(int8_t(q));
      want.push_back(float(q) * scales[block].value);
    }
  }
  expect_equal(dequantized(DType::Q8_0, b, 64), want);
}

// Q4_0, 18 bytes: f16 d, then 16 bytes; element j < 16 is the low nibble of byte j and element
// j + 16 its high nibble; x = (q - 8) * d.
TEST(Quant, DequantizeQ4_0) {
  Bytes b(2 * 18);
  std::vector<float> want(64);
  const Half scales[2] = {kHalfMinus0_5, kHalf3};
  for (int block = 0; block < 2; ++block) {
    put_half(b, 18 * block, scales[block]);
    for (int e = 0; e < 32; ++e) {
      const int q = level(block, e, 16);
      put_nibble(b, 18 * block + 2 + e % 16, e / 16, q);
      want[32 * block + e] = float(q - 8) * scales[block].value;
    }
  }
  expect_equal(dequantized(DType::Q4_0, b, 64), want);
}

// Q4_1, 20 bytes: f16 d, f16 m, then nibbles as Q4_0; x = q * d + m.
TEST(Quant, DequantizeQ4_1) {
  Bytes b(2 * 20);
  std::vector<float> want(64);
  const Half scales[2] = {kHalf0_25, kHalf0_125}, mins[2] = {kHalfMinus1_5, kHalf0_5};
  for (int block = 0; block < 2; ++block) {
    put_half(b, 20 * block, scales[block]);
    put_half(b, 20 * block + 2, mins[block]);
    for (int e = 0; e < 32; ++e) {
      const int q = level(block, e, 16);
      put_nibble(b, 20 * block + 4 + e % 16, e / 16, q);
      want[32 * block + e] = float(q) * scales[block].value + mins[block].value;
    }
  }
  expect_equal(dequantized(DType::Q4_1, b, 64), want);
}

// Q5_0, 22 bytes: f16 d, 4 bytes qh (a little-endian word), 16 bytes of nibbles as Q4_0. The
// quant q of element e is its nibble plus 16 x bit e of qh; x = (q - 16) * d.
// Q5_1, 24 bytes: f16 d, f16 m, then qh and nibbles as Q5_0; x = q * d + m.
struct FiveBitCase {
  DType type;
  int block_bytes;
  bool has_min;
};

void check_five_bit(const FiveBitCase& c) {
  const Half scales[2] = {kHalfMinus0_5, kHalf0_125}, mins[2] = {kHalf0_25, kHalfMinus1_5};
  const int qh_at = c.has_min ? 4 : 2, qs_at = qh_at + 4;
  Bytes b(2 * c.block_bytes);
  std::vector<float> want(64);
  for (int block = 0; block < 2; ++block) {
    const size_t base = size_t(block) * c.block_bytes;
    put_half(b, base, scales[block]);
    if (c.has_min) put_half(b, base + 2, mins[block]);
    for (int e = 0; e < 32; ++e) {
      const int q = level(block, e, 32);
      put_nibble(b, base + qs_at + e % 16, e / 16, q & 15);
      put_bits(b, base + qh_at + e / 8, e % 8, 1, q >> 4);
      want[32 * block + e] = c.has_min ? float(q) * scales[block].value + mins[block].value
                                       : float(q - 16) * scales[block].value;
    }
  }
  expect_equal(dequantized(c.type, b, 64), want);
}

TEST(Quant, DequantizeQ5_0) { check_five_bit({DType::Q5_0, 22, false}); }
TEST(Quant, DequantizeQ5_1) { check_five_bit({DType::Q5_1, 24, true}); }

// One block each, worked out by hand. Q5_0 with d = 0.5, qh = 0x80000001 (bits 0 and 31),
// qs[0] = 0x3a, qs[15] = 0xf0, other bytes 0:
//   element 0:  nibble 0xa = 10, fifth bit 1 -> q = 26 -> (26 - 16) * 0.5 =  5.0
//   element 16: nibble 0x3 =  3, fifth bit 0 -> q =  3 -> ( 3 - 16) * 0.5 = -6.5
//   element 31: nibble 0xf = 15, fifth bit 1 -> q = 31 -> (31 - 16) * 0.5 =  7.5
//   the rest:   q = 0 -> -8.0
// Q5_1 with d = 0.25, m = -1.5, qh = 0x00010002 (bits 1 and 16), qs[0] = 0x07, qs[1] = 0x5c:
//   element 0:  q =  7       ->  7 * 0.25 - 1.5 =  0.25
//   element 1:  q = 12 + 16  -> 28 * 0.25 - 1.5 =  5.5
//   element 16: q =  0 + 16  -> 16 * 0.25 - 1.5 =  2.5
//   element 17: q =  5       ->  5 * 0.25 - 1.5 = -0.25
//   the rest:   q = 0 -> -1.5
TEST(Quant, DequantizeFiveBitBlocksWorkedByHand) {
  Bytes q5_0(22, 0);
  put_half(q5_0, 0, kHalf0_5);
  q5_0[2] = 0x01, q5_0[5] = 0x80;
  q5_0[6] = 0x3a, q5_0[6 + 15] = 0xf0;
  std::vector<float> want(32, -8.0f);
  want[0] = 5.0f, want[16] = -6.5f, want[31] = 7.5f;
  expect_equal(dequantized(DType::Q5_0, q5_0, 32), want);

  Bytes q5_1(24, 0);
  put_half(q5_1, 0, kHalf0_25);
  put_half(q5_1, 2, kHalfMinus1_5);
  q5_1[4] = 0x02, q5_1[6] = 0x01;
  q5_1[8] = 0x07, q5_1[9] = 0x5c;
  want.assign(32, -1.5f);
  want[0] = 0.25f, want[1] = 5.5f, want[16] = 2.5f, want[17] = -0.25f;
  expect_equal(dequantized(DType::Q5_1, q5_1, 32), want);
}

// Q4_K / Q5_K super-block of 256 = 8 sub-blocks of 32, each with a 6-bit scale sc and min mn:
// x = d * sc * q - dmin * mn. The 12 scale bytes: for s < 4, byte s = sc[s] (6 bits) and byte 4+s
// = mn[s]; for s >= 4, byte s+4 = (sc[s] & 15) | (mn[s] & 15) << 4, and the top two bits of sc[s]
// and mn[s] go into bits 6-7 of bytes s-4 and s respectively.
// Quant q of element e (sub-block s = e/32, l = e%32): its low 4 bits are nibble s%2 of
// qs[32*(s/2) + l]; Q5_K's fifth bit is bit s of qh[l].
struct KQuantCase {
  DType type;
  int block_bytes, qs_at, levels;
};

void check_k_quant(const KQuantCase& c) {
  const int sc[2][8] = {{1, 63, 17, 32, 5, 48, 60, 33}, {0, 16, 31, 47, 62, 9, 20, 40}};
  const int mn[2][8] = {{0, 2, 63, 40, 7, 31, 16, 50}, {63, 1, 15, 49, 33, 12, 44, 3}};
  const Half d[2] = {kHalf0_5, kHalf0_125}, dmin[2] = {kHalf0_25, kHalfMinus0_5};
  Bytes b(2 * c.block_bytes);
  std::vector<float> want(512);
  for (int block = 0; block < 2; ++block) {
    const size_t base = size_t(block) * c.block_bytes;
    put_half(b, base, d[block]);
    put_half(b, base + 2, dmin[block]);
    const size_t scales = base + 4;
    for (int s = 0; s < 8; ++s) {
      if (s < 4) {
        put_bits(b, scales + s, 0, 6, sc[block][s]);
        put_bits(b, scales + 4 + s, 0, 6, mn[block][s]);
      } else {
        put_nibble(b, scales + s + 4, 0, sc[block][s] & 15);
        put_nibble(b, scales + s + 4, 1, mn[block][s] & 15);
        put_bits(b, scales + s - 4, 6, 2, sc[block][s] >> 4);
        put_bits(b, scales + s, 6, 2, mn[block][s] >> 4);
      }
    }
    for (int e = 0; e < 256; ++e) {
      const int s = e / 32, l = e % 32, q = level(block, e, c.levels);
      put_nibble(b, base + c.qs_at + 32 * (s / 2) + l, s % 2, q & 15);
      if (c.levels == 32) put_bits(b, base + 16 + l, s, 1, q >> 4);
      want[256 * block + e] = d[block].value * float(sc[block][s]) * float(q) - dmin[block].value * float(mn[block][s]);
    }
  }
  expect_equal(dequantized(c.type, b, 512), want);
}

TEST(Quant, DequantizeQ4_K) { check_k_quant({DType::Q4_K, 144, 16, 16}); }
TEST(Quant, DequantizeQ5_K) { check_k_quant({DType::Q5_K, 176, 48, 32}); }

// Q6_K, 210 bytes: ql[128] | qh[64] | int8 scales[16] | f16 d; x = d * scales[e / 16] * (q - 32).
// Element e: half h = e / 128, r = e % 128, k = r / 32, l = r % 32. The low 4 bits of q are
// nibble k / 2 of ql[64h + 32 (k % 2) + l]; the high 2 bits are bits 2k, 2k+1 of qh[32h + l].
TEST(Quant, DequantizeQ6_K) {
  const int8_t scales[2][16] = {{1, -1, 127, -128, 5, 17, -33, 64, 2, 3, -4, 100, 0, -7, 8, 9},
                                {-2, 45, 12, -90, 33, 1, 1, -1, 60, -60, 7, 8, 11, 13, -17, 19}};
  const Half d[2] = {kHalf0_125, kHalfMinus0_5};
  Bytes b(2 * 210);
  std::vector<float> want(512);
  for (int block = 0; block < 2; ++block) {
    const size_t base = size_t(block) * 210;
    std::memcpy(&b[base + 192], scales[block], 16);
    put_half(b, base + 208, d[block]);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, k = e % 128 / 32, l = e % 32, q = level(block, e, 64);
      put_nibble(b, base + 64 * h + 32 * (k % 2) + l, k / 2, q & 15);
      put_bits(b, base + 128 + 32 * h + l, 2 * k, 2, q >> 4);
      want[256 * block + e] = d[block].value * float(scales[block][e / 16]) * float(q - 32);
    }
  }
  expect_equal(dequantized(DType::Q6_K, b, 512), want);
}

// f16_to_f32 is checked against the binary16 definition in tests/core/test_dtype.cpp.
TEST(Quant, DequantizeF16EveryBitPattern) {
  Bytes b(2 * 65536);
  for (uint32_t h = 0; h < 65536; ++h) std::memcpy(&b[2 * h], &h, 2);
  const std::vector<float> got = dequantized(DType::F16, b, 65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float want = f16_to_f32(uint16_t(h));
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got[h])) << std::hex << h;
    else
      EXPECT_EQ(got[h], want) << std::hex << h;
  }
}

TEST(Quant, DequantizePlainTypes) {
  const uint16_t bf16[3] = {0x3f80, 0xc0a0, 0x0000};  // 1, -5, 0
  Bytes b(6);
  std::memcpy(b.data(), bf16, 6);
  expect_equal(dequantized(DType::BF16, b, 3), {1.0f, -5.0f, 0.0f});
  const float f32[2] = {1.25f, -3e-20f};
  b.assign(8, 0);
  std::memcpy(b.data(), f32, 8);
  expect_equal(dequantized(DType::F32, b, 2), {1.25f, -3e-20f});
  const int32_t i32[2] = {-7, 123456};
  std::memcpy(b.data(), i32, 8);
  expect_equal(dequantized(DType::I32, b, 2), {-7.0f, 123456.0f});
}

// --- quantize

std::vector<float> random_values(size_t n, uint32_t seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
  Bytes encoded(dtype_bytes(type, int64_t(x.size())));
  quantize(type, x.data(), encoded.data(), int64_t(x.size()));
  return dequantized(type, encoded, int64_t(x.size()));
}

float block_amax(const std::vector<float>& x, size_t block) {
  float amax = 0;
  for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * block + j]));
  return amax;
}

// The reference quantizer: d = amax / 127 (stored as f16), q = round(x / d).
TEST(Quant, QuantizeQ8_0MatchesDefinition) {
  std::vector<float> x(32);
  // x / d = 127 (j - 21) / 21 is never halfway between integers, so no tie depends on float error.
  for (int j = 0; j < 32; ++j) x[j] = 0.3f * float(j - 21);
  Bytes b(34);
  quantize(DType::Q8_0, x.data(), b.data(), 32);
  const float d = std::fabs(x[0]) / 127;
  uint16_t d_bits;
  std::memcpy(&d_bits, b.data(), 2);
  EXPECT_EQ(d_bits, f32_to_f16(d));
  for (int j = 0; j < 32; ++j) EXPECT_EQ(int8_t(b[2 + j]), int(std::lround(x[j] / d))) << j;
  EXPECT_EQ(int8_t(b[2]), -127);
}

// The reference quantizer: the value of largest magnitude m maps to level 0 (= -8) via d = m / -8;
// q = min(15, round(x / d + 8)).
TEST(Quant, QuantizeQ4_0MatchesDefinition) {
  for (const float sign : {1.0f, -1.0f}) {
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = sign * 0.25f * float(j - 12);  // largest magnitude 4.75 at j = 31
    Bytes b(18);
    quantize(DType::Q4_0, x.data(), b.data(), 32);
    const float d = x[31] / -8;
    uint16_t d_bits;
    std::memcpy(&d_bits, b.data(), 2);
    EXPECT_EQ(d_bits, f32_to_f16(d));
    for (int e = 0; e < 32; ++e) {
      const int q = (b[2 + e % 16] >> (4 * (e / 16))) & 15;
      EXPECT_EQ(q, std::min(15L, std::lround(x[e] / d + 8))) << "element " << e << " sign " << sign;
    }
    EXPECT_EQ((b[2 + 15] >> 4) & 15, 0);  // element 31, the extreme
  }
}

// Level of element e of a Q5_0/Q5_1 block at `block`: nibble plus 16 x bit e of qh.
int five_bit_level(const Bytes& b, size_t qh_at, int e) {
  const int nibble = (b[qh_at + 4 + e % 16] >> (4 * (e / 16))) & 15;
  return nibble | ((b[qh_at + e / 8] >> (e % 8)) & 1) << 4;
}

uint16_t half_at(const Bytes& b, size_t at) {
  uint16_t bits;
  std::memcpy(&bits, &b[at], 2);
  return bits;
}

// The reference quantizer, as Q4_0 with 32 levels: the value of largest magnitude maps to level 0
// (= -16) via d = max / -16; q = min(31, round(x / d + 16)).
TEST(Quant, QuantizeQ5_0MatchesDefinition) {
  for (const float sign : {1.0f, -1.0f}) {
    std::vector<float> x(32);
    // Largest magnitude 4.75 at j = 31; x / d + 16 = 16 - 16 (j - 12) / 19 is never a half.
    for (int j = 0; j < 32; ++j) x[j] = sign * 0.25f * float(j - 12);
    Bytes b(22);
    quantize(DType::Q5_0, x.data(), b.data(), 32);
    const float d = x[31] / -16;
    EXPECT_EQ(half_at(b, 0), f32_to_f16(d));
    for (int e = 0; e < 32; ++e)
      EXPECT_EQ(five_bit_level(b, 2, e), std::min(31L, std::lround(x[e] / d + 16))) << "element " << e << " sign " << sign;
    EXPECT_EQ(five_bit_level(b, 2, 31), 0);  // the extreme
    EXPECT_EQ(five_bit_level(b, 2, 0), 26);  // 16 - 16 (-12) / 19 = 26.1 on the other side: the fifth bit set
  }
}

// The reference quantizer: d = (max - min) / 31, m = min, q = round((x - min) / d). Values on the
// grid min + d k, placed out of order (level 7e mod 32 at element e), give every level once.
TEST(Quant, QuantizeQ5_1MatchesDefinition) {
  std::vector<float> x(32);
  for (int e = 0; e < 32; ++e) x[e] = -1.5f + 0.3f * float(7 * e % 32);
  Bytes b(24);
  quantize(DType::Q5_1, x.data(), b.data(), 32);
  const float min = -1.5f, d = (x[9] - min) / 31;  // element 9 holds level 63 mod 32 = 31, the maximum
  EXPECT_EQ(half_at(b, 0), f32_to_f16(d));
  EXPECT_EQ(half_at(b, 2), f32_to_f16(min));
  for (int e = 0; e < 32; ++e) EXPECT_EQ(five_bit_level(b, 4, e), 7 * e % 32) << "element " << e;
}

TEST(Quant, QuantizeZeroBlocks) {
  const std::vector<float> zeros(64, 0.0f);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q5_1}) expect_equal(round_trip(type, zeros), zeros);
}

// Q8_0: rounding to the nearest level costs at most d/2; storing d as f16 changes it by at most
// d * 2^-11 (relative rounding of binary16), which the level |q| <= 127 multiplies.
TEST(Quant, RoundTripQ8_0WithinHalfAStep) {
  const std::vector<float> x = random_values(32 * 64, 3, 2.0f);
  const std::vector<float> y = round_trip(DType::Q8_0, x);
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = block_amax(x, i / 32) / 127;
    EXPECT_LE(std::fabs(y[i] - x[i]), d * (0.5f + 127 * std::ldexp(1.0f, -11)) * 1.0001f) << i;
  }
}

// Q4_0: levels are d apart, so rounding costs at most d/2, except on the side opposite the extreme,
// where levels stop at 7 d: values beyond 7.5 d in magnitude get a bound of a full step. The f16
// scale adds up to 8 * d * 2^-11 (|q - 8| <= 8).
TEST(Quant, RoundTripQ4_0WithinHalfAStep) {
  const std::vector<float> x = random_values(32 * 64, 4, 2.0f);
  const std::vector<float> y = round_trip(DType::Q4_0, x);
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = block_amax(x, i / 32) / 8;
    const bool clamped = std::fabs(x[i]) > 7.5f * d;
    const float step_error = clamped ? d : 0.5f * d;
    EXPECT_LE(std::fabs(y[i] - x[i]), (step_error + 8 * d * std::ldexp(1.0f, -11)) * 1.0001f) << i;
  }
}

// Q5_0: as Q4_0 with levels d = amax / 16 apart: at most d/2, a full step beyond 15.5 d on the side
// opposite the extreme, plus up to 16 * d * 2^-11 from the f16 scale (|q - 16| <= 16).
TEST(Quant, RoundTripQ5_0WithinHalfAStep) {
  const std::vector<float> x = random_values(32 * 64, 6, 2.0f);
  const std::vector<float> y = round_trip(DType::Q5_0, x);
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = block_amax(x, i / 32) / 16;
    const float step_error = std::fabs(x[i]) > 15.5f * d ? d : 0.5f * d;
    EXPECT_LE(std::fabs(y[i] - x[i]), (step_error + 16 * d * std::ldexp(1.0f, -11)) * 1.0001f) << i;
  }
}

// Q5_1: levels d = (max - min) / 31 apart cover [min, max], so rounding costs at most d/2; the f16
// scale adds up to 31 * d * 2^-11 (q <= 31) and the f16 minimum |min| * 2^-11.
TEST(Quant, RoundTripQ5_1WithinHalfAStep) {
  std::vector<float> x = random_values(32 * 64, 7, 2.0f);
  for (size_t i = 0; i < x.size(); i += 64) x[i] += 5.0f;  // some blocks far from centred on zero
  const std::vector<float> y = round_trip(DType::Q5_1, x);
  for (size_t i = 0; i < x.size(); ++i) {
    const auto [lo, hi] = std::minmax_element(x.begin() + ptrdiff_t(i / 32 * 32), x.begin() + ptrdiff_t(i / 32 * 32 + 32));
    const float d = (*hi - *lo) / 31;
    const float bound = 0.5f * d + (31 * d + std::fabs(*lo)) * std::ldexp(1.0f, -11);
    EXPECT_LE(std::fabs(y[i] - x[i]), bound * 1.0001f) << i;
  }
}

// Round to nearest with p significant bits: relative error at most 2^-p (11 bits for f16, 8 for
// bf16). Values are kept in the normal range of f16 so that bound holds there.
TEST(Quant, RoundTripF16AndBf16WithinHalfAnUlp) {
  std::vector<float> x = random_values(4096, 5, 100.0f);
  for (float& v : x)
    if (std::fabs(v) < 1e-3f) v = 1e-3f;
  for (const auto& [type, bits] : {std::pair{DType::F16, 11}, std::pair{DType::BF16, 8}}) {
    const std::vector<float> y = round_trip(type, x);
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_LE(std::fabs(y[i] - x[i]), std::fabs(x[i]) * std::ldexp(1.0f, -bits)) << dtype_name(type) << " " << i;
  }
  expect_equal(round_trip(DType::F32, x), x);
}

// quantize() converts eight at a time with F16C where the CPU has it, the rest
// with f32_to_f16: both give the same bits for every fp32 value that rounds to
// a half (ties, subnormal halves, overflow to infinity) but NaNs, whose payloads differ.
TEST(Quant, F16RowsMatchTheScalarRounding) {
  std::vector<float> x;
  for (uint32_t bits = 0; bits < 0x7f800000u; bits += 0x1fffu) {  // every exponent, many mantissas
    float v;
    std::memcpy(&v, &bits, 4);
    x.push_back(v);
    x.push_back(-v);
  }
  for (float tie : {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-25f, 3 * 0x1p-25f, 65520.0f, 65519.0f})
    x.push_back(tie);
  std::vector<uint16_t> got(x.size());
  quantize(DType::F16, x.data(), got.data(), int64_t(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], f32_to_f16(x[i])) << x[i];
}

}  // namespace
}  // namespace whet
