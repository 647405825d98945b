// binary16 and bfloat16 conversions against values worked out from the IEEE 754 definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/dtype.h"

namespace whet {
namespace {

bool is_half_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; exponent 0 is subnormal
// (mantissa * 2^-24), exponent 31 is inf.
double half_value(uint16_t h) {
  const int exponent = (h >> 10) & 31, mantissa = h & 0x3ff;
  const double magnitude = exponent == 31 ? INFINITY
                           : exponent == 0 ? std::ldexp(mantissa, -24)
                                           : std::ldexp(1024 + mantissa, exponent - 25);
  return (h & 0x8000) ? -magnitude : magnitude;
}

// x rounded to `precision` significant bits, ties to even, with exponents clamped below at
// `min_exponent` (the gradual underflow of subnormals). nearbyint rounds ties to even; x / ulp is exact.
double round_to_precision(double x, int precision, int min_exponent) {
  if (x == 0) return x;
  int e;
  std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
  const double ulp = std::ldexp(1.0, std::max(e - 1, min_exponent) - (precision - 1));
  return std::nearbyint(x / ulp) * ulp;
}

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

TEST(Dtype, HalfToFloatMatchesDefinitionForEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    if (is_half_nan(uint16_t(h))) {
      EXPECT_TRUE(std::isnan(f16_to_f32(uint16_t(h)))) << std::hex << h;
    } else {
      EXPECT_EQ(double(f16_to_f32(uint16_t(h))), half_value(uint16_t(h))) << std::hex << h;
    }
  }
}

TEST(Dtype, HalfRoundTripsThroughFloatForEveryNonNan) {
  for (uint32_t h = 0; h < 65536; ++h) {
    if (!is_half_nan(uint16_t(h))) {
      EXPECT_EQ(f32_to_f16(f16_to_f32(uint16_t(h))), h) << std::hex << h;
    }
  }
}

TEST(Dtype, HalfKnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_TRUE(is_half_nan(f32_to_f16(std::numeric_limits<float>::quiet_NaN())));
}

TEST(Dtype, FloatToHalfRoundsTiesToEven) {
  // Around 1.0 the half spacing is 2^-10, so 1 + 2^-11 is exactly halfway between 0x3c00 and 0x3c01.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);                            // tie, down to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);                        // tie, up to even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);  // just above the tie
  // Subnormals: spacing 2^-24.
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);      // tie between 0 and 0x0001
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);  // tie between 0x0001 and 0x0002
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25) * 1.001f), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)), 0x0400);  // tie 0x03ff / 0x0400
}

TEST(Dtype, FloatToHalfOverflowsToInfinity) {
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // below the tie with 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // tie between 0x7bff (odd) and 2^16: rounds to even, i.e. inf
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e6f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
}

// Random floats spread over the whole half range, including subnormals and overflow.
TEST(Dtype, FloatToHalfMatchesDefinitionOnRandomValues) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-28, 17);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::ldexp(mantissa(rng), exponent(rng)) * (i % 2 ? -1.0f : 1.0f);
    double want = round_to_precision(x, 11, -14);
    if (std::fabs(want) > 65504) want = std::copysign(INFINITY, x);
    ASSERT_EQ(half_value(f32_to_f16(x)), want) << x;
  }
}

TEST(Dtype, BfloatRoundsTiesToEven) {
  // bfloat16 keeps 8 significant bits: spacing 2^-7 at 1.0.
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie, down to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie, up to even
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up past the largest: inf
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc0a0), -5.0f);
  // A NaN whose payload is only in the dropped low bits must not become inf.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0xff800001u)))));
}

TEST(Dtype, BfloatRoundTripsAndMatchesDefinition) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const bool nan = (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0;
    if (!nan) {
      EXPECT_EQ(f32_to_bf16(bf16_to_f32(uint16_t(b))), b) << std::hex << b;
    }
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-126, 126);
  for (int i = 0; i < 200000; ++i) {
    const float x = std::ldexp(mantissa(rng), exponent(rng)) * (i % 2 ? -1.0f : 1.0f);
    ASSERT_EQ(double(bf16_to_f32(f32_to_bf16(x))), round_to_precision(x, 8, -126)) << x;
  }
}

TEST(Dtype, BlockSizes) {
  EXPECT_EQ(dtype_bytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(dtype_bytes(DType::Q6_K, 512), 420u);
  EXPECT_EQ(dtype_bytes(DType::BF16, 3), 6u);
  EXPECT_EQ(dtype_from_name("Q4_K"), DType::Q4_K);
  EXPECT_FALSE(dtype_from_name("Q9_9").has_value());
}

}  // namespace
}  // namespace whet
