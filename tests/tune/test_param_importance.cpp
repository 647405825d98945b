// Parameter importance as one-way η², worked out by hand in the comments.
#include <gtest/gtest.h>

#include "tune/param_importance.h"
#include "tune/space_text.h"

namespace whet::tune {
namespace {

const SearchSpace kSpace = parse_test_space(
    "method: {type: categorical, choices: [lora, full]}\n"
    "lora_r: {type: int, low: 1, high: 2}\n");

std::vector<Trial> complete_trials(const std::vector<double>& method, const std::vector<double>& rank,
                                   const std::vector<double>& values) {
  std::vector<Trial> trials;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Trial t;
    t.number = int64_t(i);
    t.state = TrialState::Complete;
    t.params = {{"method", method[i]}, {"lora_r", rank[i]}};
    t.value = values[i];
    trials.push_back(t);
  }
  return trials;
}

TEST(ParameterImportance, ShareOfTheSpreadBetweenGroups) {
  // Values 1 2 3 4 (mean 2.5, spread 2.25 + 0.25 + 0.25 + 2.25 = 5).
  // method 0,0,1,1: group means 1.5 and 3.5, between 2·1² + 2·1² = 4, η² 0.8.
  // lora_r 1,2,1,2: two bins by rank, {1, 3} and {2, 4}, means 2 and 3,
  // between 2·0.5² + 2·0.5² = 1, η² 0.2. Scaled to sum to 1: 0.8 and 0.2.
  const auto shares = parameter_importance(kSpace, complete_trials({0, 0, 1, 1}, {1, 2, 1, 2}, {1, 2, 3, 4}));
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_NEAR(shares.at("method"), 0.8, 1e-12);
  EXPECT_NEAR(shares.at("lora_r"), 0.2, 1e-12);
}

TEST(ParameterImportance, OnlyCompleteTrialsAndEnoughOfThem) {
  std::vector<Trial> trials = complete_trials({0, 0, 1, 1}, {1, 2, 1, 2}, {1, 1, 3, 3});
  // method explains everything, lora_r nothing (its bins {1, 3} and {1, 3}).
  EXPECT_EQ(parameter_importance(kSpace, trials), (std::map<std::string, double>{{"lora_r", 0}, {"method", 1}}));
  trials[0].state = trials[1].state = TrialState::Pruned;
  EXPECT_TRUE(parameter_importance(kSpace, trials).empty());  // 2 complete trials
  EXPECT_TRUE(parameter_importance(kSpace, complete_trials({0, 1, 0}, {1, 2, 2}, {5, 5, 5})).empty());  // no spread
}

}  // namespace
}  // namespace whet::tune
