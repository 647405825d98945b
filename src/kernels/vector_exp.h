#pragma once
// exp(x) in float as plain arithmetic, so that the compiler vectorises it inside
// `omp simd` loops: glibc's vector expf is declared only under -ffast-math, which
// the build does not use, and a scalar expf call per score or logit was a tenth
// of a training step (softmax of attention and of the LM head, SwiGLU's sigmoid).
//
// x = n·ln2 + r with |r| <= ln2/2 (ln2 in two parts, so r is exact), exp(r) by
// Cephes' degree-7 polynomial, 2^n written into the exponent bits. Relative error
// under 3e-7 (tests/kernels/test_vector_exp.cpp); x is clamped to [-87.3, 88],
// where 2^n stays a normal float: below, the result is about 1e-38 instead of
// smaller, above it saturates near 1.7e38.
#include <bit>
#include <cmath>
#include <cstdint>

namespace whet {

// Every multiply-add is an explicit fma: a vectorised loop and its scalar
// remainder then round alike, so a value does not depend on its position in an array.
inline float vector_exp(float x) {
  x = x < -87.3f ? -87.3f : x > 88.0f ? 88.0f : x;
  // n = round(x·log2 e): adding 1.5·2^23 leaves no fraction bits, subtracting it
  // gives the rounded value (std::floor would keep the loop scalar at -O2).
  const float n = std::fma(x, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
  const float r = std::fma(n, 2.12194440e-4f, std::fma(n, -0.693359375f, x));
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  const float exp_r = std::fma(p, r * r, r + 1.0f);
  return exp_r * std::bit_cast<float>((int32_t(n) + 127) << 23);
}

}  // namespace whet
