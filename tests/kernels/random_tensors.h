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

}  // namespace whet::test
