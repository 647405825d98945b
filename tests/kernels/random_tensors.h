#pragma once
// Inputs and comparisons shared by the kernel tests.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"

namespace whet::test {

// n values drawn from N(0, 1), reproducible from the seed.
inline std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

// Rows of random blocks encoded as `type`: random level bytes, scales and minimums of realistic size.
inline std::vector<uint8_t> random_quantized_rows(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  const DTypeInfo& info = dtype_info(type);
  std::vector<uint8_t> bytes(dtype_bytes(type, rows * cols));
  for (uint8_t& b : bytes) b = uint8_t(rng());
  for (size_t at = 0; at < bytes.size(); at += size_t(info.block_bytes)) {
    const uint16_t d = f32_to_f16(scale(rng)), m = f32_to_f16(scale(rng));
    // Q6_K keeps its d last; Q4_K and Q5_K their dmin second, as Q4_1 and Q5_1 their minimum.
    std::memcpy(&bytes[at + (type == DType::Q6_K ? 208 : 0)], &d, 2);
    if (type == DType::Q4_1 || type == DType::Q5_1 || type == DType::Q4_K || type == DType::Q5_K)
      std::memcpy(&bytes[at + 2], &m, 2);
  }
  return bytes;
}

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// ‖got − want‖ / ‖want‖ in double: how far a reduced-precision result (bf16
// weights, rounded activations) strays from the full-precision one as a whole.
inline double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    difference += std::pow(double(got[i]) - want[i], 2);
    norm += std::pow(double(want[i]), 2);
  }
  return std::sqrt(difference / norm);
}

}  // namespace whet::test
