// Split counts by hand (largest remainders per label), groups kept together,
// seeds; word n-grams and leak overlap by hand.
#include <gtest/gtest.h>

#include <map>

#include "prepare/leakage.h"
#include "prepare/split.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

TEST(DataPipelineSplit, TargetsAndApportioning) {
  EXPECT_EQ(split_target(0.2, 24), 5u);  // 4.8 rounds to 5
  EXPECT_EQ(split_target(3, 24), 3u);    // a count
  EXPECT_EQ(split_target(100, 24), 24u);
  // 5 over strata of 8, 4, 12: floors 1, 0, 2 (remainders 16/24, 20/24, 12/24), so the two left go to
  // the second and the first.
  EXPECT_EQ(apportion(5, {8, 4, 12}), (std::vector<size_t>{2, 1, 2}));
  EXPECT_EQ(apportion(0, {3, 3}), (std::vector<size_t>{0, 0}));
  EXPECT_EQ(apportion(3, {1, 1, 1}), (std::vector<size_t>{1, 1, 1}));
}

TEST(DataPipelineSplit, StratifiedCountsPerLabel) {
  std::vector<std::string> labels;
  for (int i = 0; i < 60; ++i) labels.push_back(i % 3 == 0 ? "a" : "b");  // 20 a, 40 b
  std::vector<size_t> groups(labels.size());
  for (size_t i = 0; i < groups.size(); ++i) groups[i] = i;
  SplitConfig config;
  config.validation = 0.1;  // 6: 2 a, 4 b
  config.test = 9;          // 9: 3 a, 6 b
  const std::vector<Split> splits = assign_splits(labels, groups, config, 5);
  std::map<std::pair<Split, std::string>, int> counts;
  for (size_t i = 0; i < labels.size(); ++i) ++counts[{splits[i], labels[i]}];
  EXPECT_EQ((counts[{Split::Validation, "a"}]), 2);
  EXPECT_EQ((counts[{Split::Validation, "b"}]), 4);
  EXPECT_EQ((counts[{Split::Test, "a"}]), 3);
  EXPECT_EQ((counts[{Split::Test, "b"}]), 6);
  EXPECT_EQ((counts[{Split::Train, "a"}]), 15);
  EXPECT_EQ(assign_splits(labels, groups, config, 5), splits);  // the seed decides
  EXPECT_NE(assign_splits(labels, groups, config, 6), splits);
}

TEST(DataPipelineSplit, GroupsNeverStraddle) {
  std::vector<std::string> strata(40);
  std::vector<size_t> groups(40);
  for (size_t i = 0; i < 40; ++i) groups[i] = i / 4;  // ten groups of four
  SplitConfig config;
  config.validation = 0.25;
  config.test = 0.25;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<Split> splits = assign_splits(strata, groups, config, seed);
    std::map<Split, int> counts;
    for (size_t i = 0; i < 40; ++i) {
      EXPECT_EQ(splits[i], splits[i / 4 * 4]) << "seed " << seed;
      ++counts[splits[i]];
    }
    EXPECT_EQ(counts[Split::Test], 8);  // 10 records asked, whole groups of 4: two fit
    EXPECT_EQ(counts[Split::Validation], 8);
  }
}

TEST(DataPipelineLeakage, WordNgrams) {
  // "The cat, the CAT sat." -> words the cat the cat sat; 2-grams: "the cat" "cat the" "the cat" "cat sat": 3 distinct.
  EXPECT_EQ(word_ngrams("The cat, the CAT sat.", 2).size(), 3u);
  EXPECT_EQ(word_ngrams("two words", 8).size(), 1u);  // shorter than n: one n-gram of all
  EXPECT_EQ(word_ngrams("two words", 8), word_ngrams("Two, words!", 8));
  EXPECT_TRUE(word_ngrams("...", 3).empty());
}

TEST(DataPipelineLeakage, OverlapByHand) {
  // Side record: a b c d e -> 3-grams abc bcd cde. The other side holds "x a b c d y": abc and bcd are
  // shared, 2 of 3 = 0.67. With threshold 0.6 it leaks, with 0.7 it does not.
  const LeakSide side{"train", {"a b c d e", "unrelated text here"}, {"t:1", "t:2"}};
  const LeakSide other{"eval.jsonl", {"nothing alike at all", "x a b c d y"}, {"e:1", "e:2"}};
  const std::vector<Leak> leaks = find_leaks(side, other, 3, 0.6);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].where, "t:1");
  EXPECT_EQ(leaks[0].match, "e:2");
  EXPECT_NEAR(leaks[0].overlap, 2.0 / 3, 1e-12);
  EXPECT_TRUE(find_leaks(side, other, 3, 0.7).empty());
}

}  // namespace
}  // namespace whet
