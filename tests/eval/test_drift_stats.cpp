// The drift statistics against numbers worked out by hand (in the comments),
// and against numpy on random distributions (tests/python/make_drift_references.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "eval/drift_stats.h"
#include "test_support.h"

namespace whet {
namespace {

TEST(DriftStats, PromptLengthsFallIntoOctaves) {
  EXPECT_EQ(prompt_length_bin(1), 0);
  EXPECT_EQ(prompt_length_bin(2), 1);
  EXPECT_EQ(prompt_length_bin(3), 1);
  EXPECT_EQ(prompt_length_bin(4), 2);
  EXPECT_EQ(prompt_length_bin(127), 6);
  EXPECT_EQ(prompt_length_bin(128), 7);
  EXPECT_EQ(prompt_length_bin(16383), 13);
  EXPECT_EQ(prompt_length_bin(16384), 14);
  EXPECT_EQ(prompt_length_bin(1'000'000), 14);
  EXPECT_EQ(prompt_length_bin_name(0), "[1, 2)");
  EXPECT_EQ(prompt_length_bin_name(6), "[64, 128)");
  EXPECT_EQ(prompt_length_bin_name(14), "[16384, inf)");
}

TEST(DriftStats, PsiOfHandWorkedDistributions) {
  // [0.5, 0.5] -> [0.25, 0.75]: (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5)
  //   = 0.25 ln 2 + 0.25 ln 1.5 = 0.173287 + 0.101366 = 0.274653
  EXPECT_NEAR(population_stability_index(std::vector<double>{0.5, 0.5}, std::vector<double>{0.25, 0.75}), 0.274653,
              1e-6);
  // Counts are proportions once divided by their totals: 2:2 against 10:30 is the same.
  EXPECT_NEAR(population_stability_index(std::vector<double>{2, 2}, std::vector<double>{10, 30}), 0.274653, 1e-6);
  // Symmetric in its two arguments.
  EXPECT_NEAR(population_stability_index(std::vector<double>{0.25, 0.75}, std::vector<double>{0.5, 0.5}), 0.274653,
              1e-6);
  EXPECT_EQ(population_stability_index(std::vector<double>{3, 1, 0}, std::vector<double>{6, 2, 0}), 0.0);
  // An empty reference bin is taken as ε = 1e-4: expected [0.5, 0.5, 0], actual [0.5, 0.25, 0.25]:
  //   0 + (0.25 - 0.5) ln(0.5) + (0.25 - 0.0001) ln(0.25 / 0.0001)
  //   = 0.173287 + 0.2499 × 7.824046 = 0.173287 + 1.955229 = 2.128516
  EXPECT_NEAR(population_stability_index(std::vector<double>{2, 2, 0}, std::vector<double>{2, 1, 1}), 2.128516, 1e-6);
  EXPECT_TRUE(std::isnan(population_stability_index(std::vector<double>{0, 0}, std::vector<double>{1, 1})));
  EXPECT_TRUE(std::isnan(population_stability_index(std::vector<double>{1, 1}, std::vector<double>{0, 0})));
}

TEST(DriftStats, JensenShannonIsZeroForIdenticalOneForDisjoint) {
  EXPECT_EQ(jensen_shannon_divergence(std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 6}), 0.0);
  EXPECT_DOUBLE_EQ(jensen_shannon_divergence(std::vector<double>{1, 0}, std::vector<double>{0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(jensen_shannon_divergence(std::vector<double>{3, 5, 0, 0}, std::vector<double>{0, 0, 1, 9}), 1.0);
  // P = [0.5, 0.5], Q = [1, 0], M = [0.75, 0.25]:
  //   KL(P‖M) = 0.5 log2(0.5/0.75) + 0.5 log2(0.5/0.25) = -0.292481 + 0.5 = 0.207519
  //   KL(Q‖M) = log2(1/0.75) = 0.415037
  //   JS = (0.207519 + 0.415037) / 2 = 0.311278
  EXPECT_NEAR(jensen_shannon_divergence(std::vector<double>{1, 1}, std::vector<double>{1, 0}), 0.311278, 1e-6);
  EXPECT_NEAR(jensen_shannon_divergence(std::vector<double>{1, 0}, std::vector<double>{1, 1}), 0.311278, 1e-6);
  EXPECT_TRUE(std::isnan(jensen_shannon_divergence(std::vector<double>{0, 0}, std::vector<double>{1, 0})));
}

TEST(DriftStats, TokenBucketsKeepTheMostFrequentAndOther) {
  const std::unordered_map<int32_t, int64_t> reference = {{7, 5}, {3, 5}, {9, 1}, {4, 2}, {8, 0}};
  // 3 and 7 tie at 5: the smaller id first; 8 never occurs, so it is no bucket.
  EXPECT_EQ(most_frequent_tokens(reference, 2), (std::vector<int32_t>{3, 7}));
  EXPECT_EQ(most_frequent_tokens(reference, 10), (std::vector<int32_t>{3, 7, 4, 9}));
  const std::unordered_map<int32_t, int64_t> window = {{7, 2}, {100, 4}, {9, 1}, {3, 1}};
  EXPECT_EQ(token_bucket_counts(window, std::vector<int32_t>{3, 7}), (std::vector<double>{1, 2, 5}));
  EXPECT_EQ(token_bucket_counts(window, std::vector<int32_t>{}), (std::vector<double>{8}));
}

TEST(DriftStats, QuantileInterpolatesBetweenOrderStatistics) {
  // Position 0.95 × 3 = 2.85 between 3 and 4: 3 + 0.85 = 3.85.
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.95), 3.85);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 1), 4);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.95), 7);
}

// Random count vectors (with empty bins) whose PSI, JS and 95th percentile numpy computed.
TEST(DriftStats, MatchesNumpyOnRandomDistributions) {
  const std::string path = test::testdata_path("drift_stats.json");
  WHET_REQUIRE_FILE(path, "tests/python/make_references.sh");
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(path));
  ASSERT_GE(cases.size(), 10u);
  for (const nlohmann::json& c : cases) {
    const auto p = c["p"].get<std::vector<double>>(), q = c["q"].get<std::vector<double>>();
    EXPECT_NEAR(population_stability_index(p, q), c["psi"].get<double>(), 1e-9) << c.dump();
    EXPECT_NEAR(jensen_shannon_divergence(p, q), c["js"].get<double>(), 1e-9) << c.dump();
    EXPECT_NEAR(quantile(c["sample"].get<std::vector<double>>(), 0.95), c["p95"].get<double>(), 1e-9) << c.dump();
  }
}

}  // namespace
}  // namespace whet
