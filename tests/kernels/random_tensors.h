#pragma once
// Inputs and comparisons shared by the kernel tests.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace whet::test {

// n values drawn from N(0, 1), reproducible from the seed.
inline std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
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
