// max_of and index_of_max against std::max_element: every length around the
// lanes' steps, the largest value at every position, ties (the first one wins),
// rows of -infinity, and a vocabulary-sized row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/row_max.h"

namespace whet {
namespace {

std::vector<float> random_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> row(static_cast<size_t>(n));
  for (float& v : row) v = normal(rng);
  return row;
}

int64_t first_largest(const std::vector<float>& row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

TEST(RowMax, EveryLengthAndPositionOfTheLargest) {
  for (int64_t n = 1; n <= 80; ++n) {
    for (int64_t at = 0; at < n; ++at) {
      std::vector<float> row = random_row(n, uint32_t(n * 131 + at));
      row[size_t(at)] = 100.0f;
      ASSERT_EQ(max_of(row.data(), 0, n), 100.0f) << "n " << n << ", at " << at;
      ASSERT_EQ(index_of_max(row.data(), n), at) << "n " << n << ", at " << at;
    }
  }
}

TEST(RowMax, TiesGoToTheFirst) {
  for (int64_t n : {7, 8, 33, 64, 100}) {
    std::vector<float> row(static_cast<size_t>(n), 1.0f);
    EXPECT_EQ(index_of_max(row.data(), n), 0);
    row[size_t(n) - 1] = 2.0f;
    row[size_t(n) / 2] = 2.0f;
    EXPECT_EQ(index_of_max(row.data(), n), n / 2) << n;
  }
}

TEST(RowMax, RowsOfMinusInfinityAndAnEmptyRange) {
  std::vector<float> row(40, -INFINITY);
  EXPECT_EQ(index_of_max(row.data(), 40), 0);
  row[37] = -1e30f;
  EXPECT_EQ(index_of_max(row.data(), 40), 37);
  EXPECT_EQ(max_of(row.data(), 5, 5), -INFINITY);
  EXPECT_EQ(max_of(row.data(), 10, 37), -INFINITY);
}

TEST(RowMax, AVocabularyOfLogits) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const std::vector<float> row = random_row(49152, seed);
    EXPECT_EQ(index_of_max(row.data(), int64_t(row.size())), first_largest(row)) << seed;
    EXPECT_EQ(max_of(row.data(), 0, int64_t(row.size())), row[size_t(first_largest(row))]);
  }
}

}  // namespace
}  // namespace whet
