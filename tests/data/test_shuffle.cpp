// Seeded shuffling and validation split: the same on every standard library.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "data/shuffle.h"
#include "data_test_support.h"

namespace whet {
namespace {

TEST(Shuffle, IsASeededPermutation) {
  const std::vector<size_t> a = shuffled_order(1000, 7);
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> identity(1000);
  std::iota(identity.begin(), identity.end(), size_t{0});
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_EQ(shuffled_order(1000, 7), a);
  EXPECT_NE(shuffled_order(1000, 8), a);
  EXPECT_TRUE(shuffled_order(0, 7).empty());
  EXPECT_EQ(shuffled_order(1, 7), std::vector<size_t>{0});
}

TEST(Shuffle, IsPinned) {
  // mt19937_64 is fixed by the standard and the Fisher-Yates is ours, so these values hold everywhere;
  // they were checked against an independent Python implementation of both.
  EXPECT_EQ(shuffled_order(10, 42), (std::vector<size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
}

TEST(ValidationSplit, HoldsOutAFractionChosenBySeed) {
  const ValidationSplit split = split_validation(100, 0.1, 3);
  EXPECT_EQ(split.validation.size(), 10u);
  EXPECT_EQ(split.train.size(), 90u);
  EXPECT_TRUE(std::is_sorted(split.validation.begin(), split.validation.end()));
  std::vector<size_t> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // disjoint
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(split_validation(100, 0.1, 3).validation, split.validation);
  EXPECT_NE(split_validation(100, 0.1, 4).validation, split.validation);
  EXPECT_EQ(split_validation(5, 0.01, 3).validation.size(), 1u);  // a fraction > 0 holds out at least one
  EXPECT_TRUE(split_validation(5, 0, 3).validation.empty());
}

TEST(ValidationSplit, RejectsBadFractions) {
  test::expect_error([] { split_validation(10, 1.0, 0); }, {"val_set_size"});
  test::expect_error([] { split_validation(10, -0.5, 0); }, {"val_set_size"});
  test::expect_error([] { split_validation(1, 0.5, 0); }, {"nothing to train on"});
}

}  // namespace
}  // namespace whet
