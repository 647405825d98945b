#pragma once
// The largest float of a row, in lanes of GCC's vector types: GCC
// keeps a float max scalar otherwise (its NaN and signed-zero rules), and
// std::max_element took a tenth of attention's time and a share of the LM
// head's softmax over a 49k vocabulary. Exact: a max rounds nothing.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace whet {

// The largest of row[begin, end), or -infinity when it is empty. Four maxima side
// by side: with one, each vmaxps waited on the one before (half of a softmax row's
// time in attention's tiles).
inline float max_of(const float* row, int64_t begin, int64_t end) {
  using Lanes = float __attribute__((vector_size(32)));
  constexpr int64_t kLanes = 8, kChains = 4, kStep = kLanes * kChains;
  float largest = -INFINITY;
  int64_t j = begin;
  if (end - begin >= kStep) {
    Lanes lanes[kChains];
    std::memcpy(lanes, row + j, sizeof lanes);
    for (j += kStep; j + kStep <= end; j += kStep) {
      Lanes next[kChains];
      std::memcpy(next, row + j, sizeof next);
      for (int64_t c = 0; c < kChains; ++c) lanes[c] = next[c] > lanes[c] ? next[c] : lanes[c];
    }
    for (int64_t c = 1; c < kChains; ++c) lanes[0] = lanes[c] > lanes[0] ? lanes[c] : lanes[0];
    for (int64_t lane = 0; lane < kLanes; ++lane) largest = std::max(largest, lanes[0][lane]);
  }
  for (; j < end; ++j) largest = std::max(largest, row[j]);
  return largest;
}

// The first position of row[0, n)'s largest value (n > 0), as std::max_element
// finds it but in lanes: greedy decoding picks its token so over a 49k vocabulary,
// and std::max_element took a millisecond of every 16-sequence decode step. For rows
// without NaN, as max_of is.
inline int64_t index_of_max(const float* row, int64_t n) {
  using Lanes = float __attribute__((vector_size(32)));
  constexpr int64_t kLanes = 8;
  const float largest = max_of(row, 0, n);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {  // to the first group of lanes that holds it
    Lanes lanes;
    std::memcpy(&lanes, row + j, sizeof lanes);
    const auto hit = lanes == largest;
    int found = 0;
    for (int64_t lane = 0; lane < kLanes; ++lane) found |= hit[lane];
    if (found) break;
  }
  for (; j < n; ++j)
    if (row[j] == largest) return j;
  return 0;
}

}  // namespace whet
