// k-fold cross-validation's data and score: the records of train_data dealt
// into folds (every record in exactly one validation fold, whole; the same
// seed, the same folds), each fold's files, and the mean and spread of the
// folds' values.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "test_support.h"
#include "tune/cross_validation.h"
#include "tune/fold_split.h"

namespace whet::tune {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(FoldSplit, EveryRecordIsInExactlyOneFoldOfEvenSize) {
  for (const auto& [count, folds] : std::vector<std::pair<std::size_t, int>>{{10, 2}, {11, 3}, {7, 7}, {100, 5}}) {
    const std::vector<int> fold = assign_folds(count, folds, 7);
    ASSERT_EQ(fold.size(), count);
    std::vector<std::size_t> sizes(std::size_t(folds), 0);
    for (int k : fold) {
      ASSERT_GE(k, 0);
      ASSERT_LT(k, folds);
      ++sizes[std::size_t(k)];
    }
    const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
    EXPECT_LE(*largest - *smallest, 1u) << count << " records, " << folds << " folds";
    EXPECT_GE(*smallest, 1u);
  }
}

TEST(FoldSplit, TheSeedDecidesTheFolds) {
  EXPECT_EQ(assign_folds(50, 5, 3), assign_folds(50, 5, 3));
  EXPECT_NE(assign_folds(50, 5, 3), assign_folds(50, 5, 4));
  // Not simply in file order: a seeded shuffle deals them.
  std::vector<int> in_order(50);
  for (std::size_t i = 0; i < in_order.size(); ++i) in_order[i] = int(i % 5);
  EXPECT_NE(assign_folds(50, 5, 3), in_order);
}

// The files: fold k validates on its records and trains on all the others;
// the validation files are disjoint and together hold every record once.
TEST(FoldSplit, FoldFilesPartitionTheRecordsOfEveryTrainingFile) {
  const std::string dir = test::this_test_scratch("fold_");
  {
    std::ofstream a(dir + "/a.jsonl"), b(dir + "/b.jsonl");
    a << "\xEF\xBB\xBF" << R"({"text": "a0"})" << "\r\n\n" << R"({"text": "a1"})" << "\n";  // BOM, CRLF, a blank line
    for (int i = 0; i < 8; ++i) b << R"({"text": "b)" << i << "\"}\n";
  }
  const FoldSplit split = split_into_folds({dir + "/a.jsonl", dir + "/b.jsonl"}, 3, 11);
  const std::vector<FoldFiles> files = write_fold_files(split, dir + "/folds");
  ASSERT_EQ(files.size(), 3u);
  std::multiset<std::string> validated;
  for (std::size_t k = 0; k < files.size(); ++k) {
    EXPECT_EQ(files[k].validation, dir + "/folds/" + std::to_string(k) + "/val.jsonl");
    const std::vector<std::string> val = lines_of(files[k].validation), train = lines_of(files[k].train);
    EXPECT_EQ(val, split.folds[k]);
    EXPECT_EQ(val.size() + train.size(), 10u);
    for (const std::string& record : val) {
      EXPECT_EQ(std::count(train.begin(), train.end(), record), 0) << record;
      validated.insert(record);
    }
  }
  std::multiset<std::string> expected = {R"({"text": "a0"})", R"({"text": "a1"})"};
  for (int i = 0; i < 8; ++i) expected.insert(R"({"text": "b)" + std::to_string(i) + "\"}");
  EXPECT_EQ(validated, expected);
}

TEST(FoldSplit, TooFewFoldsOrRecordsAreRefusedNamingTheFlag) {
  const std::string dir = test::this_test_scratch("fold_");
  std::ofstream(dir + "/t.jsonl") << R"({"text": "x"})" << "\n" << R"({"text": "y"})" << "\n";
  test::expect_error([&] { split_into_folds({dir + "/t.jsonl"}, 1, 0); }, {"[--folds] 1 folds", "at least 2"});
  test::expect_error([&] { split_into_folds({dir + "/t.jsonl"}, 3, 0); },
                     {"[--folds] 3 folds of 2 records", "at most 2 folds"});
  test::expect_error([&] { split_into_folds({}, 2, 0); }, {"[--folds]", "task_sequence"});
}

TEST(FoldSplit, ScoreIsTheMeanWithTheSampleStandardDeviation) {
  const std::vector<double> values = {1.0, 2.0, 4.0};
  const FoldScore score = fold_score(values);
  EXPECT_DOUBLE_EQ(score.mean, 7.0 / 3.0);
  // Squares about the mean: (4/3)² + (1/3)² + (5/3)² = 42/9, over n - 1 = 2.
  ASSERT_TRUE(score.std);
  EXPECT_DOUBLE_EQ(*score.std, std::sqrt(42.0 / 9.0 / 2.0));
  const std::vector<double> one = {0.5};
  EXPECT_EQ(fold_score(one).std, std::nullopt);
}

TEST(FoldSplit, AnObjectiveOtherThanValidationLossIsRefused) {
  Objective objective;
  objective.metric = "macro_f1";
  test::expect_error([&] { check_cross_validated_objective(objective); }, {"[--folds]", "macro_f1", "eval_task"});
  objective.metric = "val_loss";
  check_cross_validated_objective(objective);
}

}  // namespace
}  // namespace whet::tune
