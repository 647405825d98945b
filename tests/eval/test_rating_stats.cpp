// The statistics of human evaluation against numbers worked out by hand in the
// comments, and Bradley–Terry against an independent numpy solver
// (tests/python/make_rating_references.py: Newton's method on the log-likelihood).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/rating_stats.h"
#include "test_support.h"

namespace whet {
namespace {

// Rater 1 by rows, rater 2 by columns, 50 items:
//        yes  no
//   yes   20   5    rows 25 25     p_o = (20 + 15) / 50 = 0.7
//   no    10  15    cols 30 20     p_e = 0.5·0.6 + 0.5·0.4 = 0.5
// κ = (0.7 − 0.5) / (1 − 0.5) = 0.4
TEST(RatingStats, KappaTwoByTwoByHand) {
  const Kappa k = cohen_kappa({{20, 5}, {10, 15}});
  EXPECT_EQ(k.items, 50);
  EXPECT_DOUBLE_EQ(k.observed, 0.7);
  EXPECT_DOUBLE_EQ(k.expected, 0.5);
  ASSERT_TRUE(k.kappa);
  EXPECT_NEAR(*k.kappa, 0.4, 1e-12);
}

// 40 items in three categories:
//   10  2  3    rows 15 10 15      p_o = (10 + 8 + 11) / 40 = 0.725
//    1  8  1    cols 13 12 15      p_e = (15·13 + 10·12 + 15·15) / 40² = 540 / 1600 = 0.3375
//    2  2 11                       κ = 0.3875 / 0.6625 = 31/53
TEST(RatingStats, KappaThreeByThreeByHand) {
  const Kappa k = cohen_kappa({{10, 2, 3}, {1, 8, 1}, {2, 2, 11}});
  EXPECT_EQ(k.items, 40);
  EXPECT_DOUBLE_EQ(k.observed, 0.725);
  EXPECT_DOUBLE_EQ(k.expected, 0.3375);
  ASSERT_TRUE(k.kappa);
  EXPECT_NEAR(*k.kappa, 31.0 / 53.0, 1e-12);
}

// Perfect agreement is κ 1; agreement at chance level is 0 (each rater 50/50, independent: every cell 10).
TEST(RatingStats, KappaPerfectChanceAndUndefined) {
  EXPECT_NEAR(*cohen_kappa({{7, 0, 0}, {0, 3, 0}, {0, 0, 5}}).kappa, 1.0, 1e-12);
  EXPECT_NEAR(*cohen_kappa({{10, 10}, {10, 10}}).kappa, 0.0, 1e-12);
  // Both raters always said the same one category: p_e = 1 and κ is 0/0.
  const Kappa one = cohen_kappa({{6, 0}, {0, 0}});
  EXPECT_DOUBLE_EQ(one.observed, 1.0);
  EXPECT_FALSE(one.kappa);
  EXPECT_EQ(cohen_kappa({{0, 0}, {0, 0}}).items, 0);
}

// Strengths (4, 2, 1) and pairs compared 6, 5 and 3 times, with each pair's wins
// exactly its expectation under the model:
//   0 v 1: 4/(4+2) of 6 = 4 to 2;  0 v 2: 4/5 of 5 = 4 to 1;  1 v 2: 2/3 of 3 = 2 to 1.
// The likelihood equations W_i = Σ_j n_ij p_i / (p_i + p_j) then hold at p = (4, 2, 1):
//   W_0 = 8 = 6·4/6 + 5·4/5,  W_1 = 4 = 6·2/6 + 3·2/3,  W_2 = 2 = 5·1/5 + 3·1/3,
// so that is the maximum. Normalised to geometric mean 1 (÷ ∛8 = 2): (2, 1, 0.5),
// log-strengths (ln 2, 0, −ln 2), which sum to 0.
TEST(RatingStats, BradleyTerryThreeModelsByHand) {
  const BradleyTerry bt = bradley_terry({"a", "b", "c"}, {{0, 4, 4}, {2, 0, 2}, {1, 1, 0}});
  ASSERT_EQ(bt.problem, "");
  ASSERT_EQ(bt.scores.size(), 3u);
  EXPECT_NEAR(bt.scores[0], 2.0, 1e-9);
  EXPECT_NEAR(bt.scores[1], 1.0, 1e-9);
  EXPECT_NEAR(bt.scores[2], 0.5, 1e-9);
  EXPECT_NEAR(bt.log_scores[0] + bt.log_scores[1] + bt.log_scores[2], 0.0, 1e-12);
  EXPECT_EQ(bt.comparisons, (std::vector<double>{11, 9, 8}));
}

// Ties split as half wins: b–c with one win for b and two ties is 2 to 1, the table above.
TEST(RatingStats, BradleyTerryTiesAsHalfWins) {
  const BradleyTerry bt = bradley_terry({"a", "b", "c"}, {{0, 4, 4}, {2, 0, 1 + 0.5 * 2}, {1, 0 + 0.5 * 2, 0}});
  ASSERT_EQ(bt.scores.size(), 3u);
  EXPECT_NEAR(bt.scores[1], 1.0, 1e-9);
}

// A model that never won has strength 0 (log −∞): no maximum-likelihood scores, and the reason names it.
TEST(RatingStats, BradleyTerryRefusesAModelThatNeverWon) {
  const BradleyTerry never_won = bradley_terry({"a", "b"}, {{0, 3}, {0, 0}});
  EXPECT_TRUE(never_won.scores.empty());
  EXPECT_NE(never_won.problem.find("'b' never won"), std::string::npos) << never_won.problem;
  // Two pairs of models that were never compared across: strongly connected fails.
  const BradleyTerry split = bradley_terry({"a", "b", "c", "d"}, {{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 1, 0}});
  EXPECT_TRUE(split.scores.empty());
  EXPECT_NE(split.problem.find("split into groups"), std::string::npos) << split.problem;
}

// Items: 2–0, 1–1, two ties, and one judged both bad twice.
// Decided: first 3, second 1, ties 2 → (3 + 2/2) / 6 = 2/3; both_bad 2 reported apart; 3 items resampled.
TEST(RatingStats, WinRateCountsTiesHalfAndBothBadApart) {
  const std::vector<PairJudgments> items = {{2, 0, 0, 0}, {1, 1, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 2}};
  const WinRate w = win_rate(items, 0.95, 1000, 7);
  EXPECT_EQ(w.items, 3);
  EXPECT_EQ(w.first, 3);
  EXPECT_EQ(w.second, 1);
  EXPECT_EQ(w.ties, 2);
  EXPECT_EQ(w.both_bad, 2);
  ASSERT_TRUE(w.rate && w.interval);
  EXPECT_NEAR(*w.rate, 2.0 / 3, 1e-12);
  // Resamples of these items lie between 0.5 (the tie item alone, or 1–1) and 1 (the 2–0 item alone).
  EXPECT_GE(w.interval->low, 0.5);
  EXPECT_LE(w.interval->high, 1.0);
  EXPECT_LT(w.interval->low, w.interval->high);
  // Deterministic by seed; another seed draws other resamples.
  const WinRate again = win_rate(items, 0.95, 1000, 7);
  EXPECT_EQ(again.interval->low, w.interval->low);
  EXPECT_EQ(again.interval->high, w.interval->high);
  // Identical items leave nothing to vary: the interval is the rate itself.
  const WinRate same = win_rate({{3, 1, 0, 0}, {3, 1, 0, 0}}, 0.95, 1000, 1);
  EXPECT_DOUBLE_EQ(same.interval->low, 0.75);
  EXPECT_DOUBLE_EQ(same.interval->high, 0.75);
  // Nothing decided: no rate.
  const WinRate none = win_rate({{0, 0, 0, 4}}, 0.95, 1000, 1);
  EXPECT_FALSE(none.rate);
  EXPECT_EQ(none.both_bad, 4);
}

TEST(RatingStats, BootstrapIntervalMovesWithTheSeed) {
  std::vector<PairJudgments> items;
  for (int i = 0; i < 30; ++i) items.push_back({i % 3 == 0 ? 1 : 0, i % 3 == 1 ? 1 : 0, i % 3 == 2 ? 1 : 0, 0});
  const WinRate a = win_rate(items, 0.95, 1000, 1), b = win_rate(items, 0.95, 1000, 2);
  EXPECT_NEAR(*a.rate, 0.5, 1e-12);
  EXPECT_TRUE(a.interval->low != b.interval->low || a.interval->high != b.interval->high);
}

// Random win tables (ties as halves) solved by numpy's Newton iteration.
TEST(RatingStats, BradleyTerryMatchesNumpyNewton) {
  const std::string path = test::testdata_path("rating_stats.json");
  WHET_REQUIRE_FILE(path, "tests/python/make_references.sh");
  const nlohmann::json reference = nlohmann::json::parse(std::ifstream(path));
  ASSERT_GE(reference.at("bradley_terry").size(), 3u);
  for (const nlohmann::json& c : reference.at("bradley_terry")) {
    const auto wins = c.at("wins").get<std::vector<std::vector<double>>>();
    std::vector<std::string> names;
    for (size_t i = 0; i < wins.size(); ++i) names.push_back("m" + std::to_string(i));
    const BradleyTerry bt = bradley_terry(names, wins);
    ASSERT_EQ(bt.problem, "") << c.dump();
    const auto expected = c.at("log_scores").get<std::vector<double>>();
    ASSERT_EQ(bt.log_scores.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(bt.log_scores[i], expected[i], 1e-6) << c.dump();
  }
  for (const nlohmann::json& c : reference.at("kappa")) {
    const Kappa k = cohen_kappa(c.at("table").get<std::vector<std::vector<int64_t>>>());
    EXPECT_NEAR(*k.kappa, c.at("kappa").get<double>(), 1e-9) << c.dump();
  }
}

}  // namespace
}  // namespace whet
