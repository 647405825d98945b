#pragma once
// The largest float of a row, eight lanes at a time in GCC's vector types: GCC
// keeps a float max scalar otherwise (its NaN and signed-zero rules), and
// std::max_element took a tenth of attention's time and a share of the LM
// head's softmax over a 49k vocabulary. Exact: a max rounds nothing.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace whet {

// The largest of row[begin, end), or -infinity when it is empty.
inline float max_of(const float* row, int64_t begin, int64_t end) {
  using Lanes = float __attribute__((vector_size(32)));
  constexpr int64_t kLanes = 8;
  float largest = -INFINITY;
  int64_t j = begin;
  if (end - begin >= kLanes) {
    Lanes lanes;
    std::memcpy(&lanes, row + j, sizeof lanes);
    for (j += kLanes; j + kLanes <= end; j += kLanes) {
      Lanes next;
      std::memcpy(&next, row + j, sizeof next);
      lanes = next > lanes ? next : lanes;
    }
    for (int64_t lane = 0; lane < kLanes; ++lane) largest = std::max(largest, lanes[lane]);
  }
  for (; j < end; ++j) largest = std::max(largest, row[j]);
  return largest;
}

}  // namespace whet
