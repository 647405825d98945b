// Metric functions against values worked out by hand in the comments.
#include <gtest/gtest.h>

#include "eval/metrics.h"

namespace whet {
namespace {

// reference a a a b b c, predicted a a b b c c; confusion rows = reference:
//   a: [2 1 0]   b: [0 1 1]   c: [0 0 1]
// a: P 2/2, R 2/3, F1 0.8 | b: P 1/2, R 1/2, F1 0.5 | c: P 1/2, R 1/1, F1 2/3
// accuracy 4/6; macro F1 (0.8 + 0.5 + 2/3) / 3; micro F1 = accuracy (every prediction is a label).
TEST(Metrics, ClassificationReportByHand) {
  const auto r = classification_report({"a", "a", "b", "b", "c", "c"}, {"a", "a", "a", "b", "b", "c"});
  ASSERT_EQ(r.labels, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  ASSERT_EQ(r.per_class.size(), 3u);
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 0.8);
  EXPECT_EQ(r.per_class[0].support, 3);
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[2].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[2].f1, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6);
  EXPECT_NEAR(r.macro_f1, (0.8 + 0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.micro_f1, 4.0 / 6, 1e-12);
}

// reference a b b, predicted a "banana" "pear": both invalid answers go to the
// one invalid column, which is no class. a: F1 1; b: never predicted, P 0, R 0,
// F1 0. micro: precision 1/1 (one prediction inside the label set), recall 1/3: F1 1/2.
TEST(Metrics, InvalidPredictionsShareOneColumnAndAreNoClass) {
  const auto r = classification_report({"a", "banana", "pear"}, {"a", "b", "b"});
  ASSERT_EQ(r.labels, (std::vector<std::string>{"a", "b", kInvalidAnswer}));
  ASSERT_EQ(r.confusion.size(), 2u);  // a row per reference label
  EXPECT_EQ(r.confusion[1], (std::vector<int64_t>{0, 0, 2}));
  ASSERT_EQ(r.per_class.size(), 2u);
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.0);
  EXPECT_EQ(r.per_class[1].support, 2);
  EXPECT_NEAR(r.accuracy, 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(r.macro_f1, 0.5);
  EXPECT_NEAR(r.micro_f1, 0.5, 1e-12);
  // Without invalid answers there is no invalid column.
  EXPECT_EQ(classification_report({"b", "a"}, {"a", "b"}).labels, (std::vector<std::string>{"a", "b"}));
}

TEST(Metrics, AnswerNormalisation) {
  EXPECT_EQ(normalize_answer("The  Cat's, hat!"), "cats hat");
  EXPECT_EQ(normalize_answer("  An apple\tA day "), "apple day");
  EXPECT_TRUE(exact_match("The cat.", "cat"));
  EXPECT_FALSE(exact_match("cats", "cat"));
  EXPECT_TRUE(contains_answer("It is Paris, in France.", "paris"));
  EXPECT_FALSE(contains_answer("category", "cat"));  // whole words only
}

TEST(Metrics, TokenF1ByHand) {
  // prediction tokens: cat sat on mat (4); reference: cat sat (2); common 2: P 1/2, R 1, F1 2/3.
  EXPECT_NEAR(token_f1("the cat sat on the mat", "a cat sat"), 2.0 / 3, 1e-12);
  // repeated words count once per occurrence in the reference: common 1, P 1/2, R 1.
  EXPECT_NEAR(token_f1("cat cat", "cat"), 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(token_f1("the", "cat"), 0.0);  // nothing left of the prediction
  EXPECT_DOUBLE_EQ(token_f1("a", "the"), 1.0);    // both empty after normalisation
}

TEST(Metrics, RougeLByHand) {
  // LCS of (w x y z) and (w y z q) is w y z: P 3/4, R 3/4.
  EXPECT_NEAR(rouge_l("w x y z", "w y z q"), 0.75, 1e-12);
  // LCS of (z y x) and (x y z) has length 1: P 1/3, R 1/3.
  EXPECT_NEAR(rouge_l("z y x", "x y z"), 1.0 / 3, 1e-12);
  // police killed gunman / police kill gunman: LCS 2 of 3 each.
  EXPECT_NEAR(rouge_l("police killed the gunman", "police kill the gunman"), 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(rouge_l("", ""), 1.0);
}

TEST(Metrics, BootstrapIntervalIsSeededAndCoversTheMean) {
  std::vector<double> constant(50, 0.7);
  const Interval c = bootstrap_mean_interval(constant, 0.95, 200, 1);
  EXPECT_DOUBLE_EQ(c.low, 0.7);
  EXPECT_DOUBLE_EQ(c.high, 0.7);
  std::vector<double> coin(100);
  for (size_t i = 0; i < coin.size(); ++i) coin[i] = double(i % 2);
  const Interval a = bootstrap_mean_interval(coin, 0.95, 2000, 7), b = bootstrap_mean_interval(coin, 0.95, 2000, 7);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  // The mean's standard error is 0.05, so the 95% interval is about 0.5 ± 0.1.
  EXPECT_GT(a.low, 0.35);
  EXPECT_LT(a.low, 0.45);
  EXPECT_GT(a.high, 0.55);
  EXPECT_LT(a.high, 0.65);
}

TEST(Metrics, PairedBootstrapPValue) {
  const std::vector<double> ones(40, 1.0), zeros(40, 0.0);
  EXPECT_DOUBLE_EQ(paired_bootstrap_p_value(ones, zeros, 500, 3), 0.0);  // a always better
  EXPECT_DOUBLE_EQ(paired_bootstrap_p_value(ones, ones, 500, 3), 1.0);   // never better
  // a better on 2 of 40 items only: the mean difference is ≤ 0 exactly when a
  // resample draws neither of them, with probability (38/40)^40 ≈ 0.129.
  std::vector<double> slightly = zeros;
  slightly[0] = slightly[1] = 1.0;
  const double p = paired_bootstrap_p_value(slightly, zeros, 2000, 3);
  EXPECT_GT(p, 0.10);
  EXPECT_LT(p, 0.16);
}

}  // namespace
}  // namespace whet
