// TPE's Parzen estimators against Optuna's on the same observations (the
// numbers come from tests/python/optuna_tune_oracle.py with Optuna 5.1: its
// _ParzenEstimator's log_pdf), and the truncated normal they rest on, far
// into its tails.
#include "tune/parzen_estimator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "prepare/random.h"
#include "tune/truncated_normal.h"

namespace whet::tune {
namespace {

Parameter numeric(Distribution::Kind kind, double low, double high, double step = 0, bool log = false) {
  Parameter p;
  p.name = "p";
  p.distribution = {kind, low, high, log, step, {}};
  return p;
}

Parameter categorical(std::vector<nlohmann::json> choices) {
  Parameter p;
  p.name = "c";
  p.distribution.kind = Distribution::Kind::Categorical;
  p.distribution.choices = std::move(choices);
  return p;
}

// The estimator's log density at `points` (one value each) over one parameter observed at `observed`.
std::vector<double> log_pdf(const Parameter& p, const std::vector<double>& observed, const std::vector<double>& points) {
  std::vector<std::vector<double>> rows;
  for (double x : observed) rows.push_back({x});
  const ParzenEstimator estimator({&p}, rows, 1.0);
  std::vector<double> out;
  for (double x : points) out.push_back(estimator.log_pdf(std::vector<double>{x}));
  return out;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9) << "point " << i;
}

using K = Distribution::Kind;

TEST(ParzenEstimator, MatchesOptunasOnEachKindOfParameter) {
  expect_near_all(log_pdf(numeric(K::Float, 0, 1), {0.2, 0.5, 0.6}, {0.0, 0.3, 0.55, 0.9}),
                  {-0.37812077266346444, 0.12963660230190088, 0.29585132684386806, -0.5330206292759933});
  expect_near_all(log_pdf(numeric(K::Float, 1e-5, 1e-2, 0, true), {1e-4, 3e-4, 5e-3}, {1e-5, 2e-4, 1e-3}),
                  {-2.533773155642832, -1.709132869532239, -1.903024043906571});
  expect_near_all(log_pdf(numeric(K::Float, 0, 0.2, 0.05), {0.05, 0.1}, {0.0, 0.05, 0.2}),
                  {-1.6984505096691493, -1.3259608671406564, -2.2643765947169374});
  expect_near_all(log_pdf(numeric(K::Int, 1, 8, 1), {2, 2, 7}, {1, 2, 5, 8}),
                  {-1.9162270905742207, -1.7915680620809833, -2.178245962143957, -2.456232431791899});
  expect_near_all(log_pdf(numeric(K::Int, 4, 32, 4), {8, 16}, {4, 12, 32}),
                  {-1.9816888378191428, -1.7181369387585719, -2.990676452113753});
  expect_near_all(log_pdf(numeric(K::Int, 1, 64, 1, true), {4, 32}, {1, 5, 64}),
                  {-1.772707999915994, -3.091429846386915, -5.781227477562864});
  expect_near_all(log_pdf(categorical({"a", "b", "c"}), {0, 2, 2}, {0, 1, 2}),
                  {-1.0986122886681098, -1.6582280766035324, -0.7419373447293772});
  expect_near_all(log_pdf(numeric(K::Float, 0, 1), {}, {0.0, 0.5}), {-0.08402219950905043, 0.04097780049094957});
}

TEST(ParzenEstimator, MatchesOptunasWithManyObservationsAndJointly) {
  // 30 observations: the 5 oldest weigh less (Optuna's default_weights ramp).
  std::vector<double> observed;
  for (int i = 0; i < 30; ++i) observed.push_back(double((7 * i) % 30) / 30);
  expect_near_all(log_pdf(numeric(K::Float, 0, 1), observed, {0.1, 0.5, 0.95}),
                  {0.09148108629538576, -0.037429301837969775, 0.0056860101075869585});
  EXPECT_EQ(observation_weights(27), (std::vector<double>{1.0 / 27, 1.0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));

  // One kernel per trial over both parameters.
  const Parameter x = numeric(K::Float, -10, 10), c = categorical({"a", "b"});
  const ParzenEstimator joint({&x, &c}, {{1.0, 0}, {-3.0, 1}, {4.0, 0}}, 1.0);
  EXPECT_NEAR(joint.log_pdf(std::vector<double>{0.0, 0}), -3.1295089766815427, 1e-9);
  EXPECT_NEAR(joint.log_pdf(std::vector<double>{0.0, 1}), -3.518237822368047, 1e-9);
  EXPECT_NEAR(joint.log_pdf(std::vector<double>{5.0, 1}), -4.127762999561141, 1e-9);
}

TEST(ParzenEstimator, DrawsValuesOfTheParameterNearTheObservations) {
  const Parameter n = numeric(K::Int, 4, 32, 4);
  const ParzenEstimator estimator({&n}, {{8}, {8}, {8}, {8}, {8}, {8}}, 1.0);
  std::mt19937_64 rng(7);
  int at_eight = 0;
  for (int i = 0; i < 1000; ++i) {
    const double v = estimator.sample(rng)[0];
    ASSERT_TRUE(v >= 4 && v <= 32 && std::fmod(v, 4) == 0) << v;
    at_eight += v == 8;
  }
  // Six kernels at 8, each of the clipped width 32/8 = 4 on the scale [2, 34], weigh 6/7 and put 41% of
  // their mass on the cell [6, 10]; the prior adds 1.8%: the cell of 8 holds about 37%.
  EXPECT_GT(at_eight, 300);
  EXPECT_LT(at_eight, 450);
}

TEST(TruncatedNormal, LogCdfAndMassHoldFarIntoTheTails) {
  EXPECT_NEAR(log_normal_cdf(0), std::log(0.5), 1e-15);
  EXPECT_NEAR(log_normal_cdf(-1), std::log(0.15865525393145707), 1e-14);
  EXPECT_NEAR(log_normal_cdf(-30), -454.32124395634315, 1e-9);  // erfc still representable
  EXPECT_NEAR(log_normal_cdf(-40), -804.6084420137538, 1e-9);   // the asymptotic series (Optuna's value)
  EXPECT_NEAR(log_normal_cdf(8), -6.220960574271819e-16, 1e-25);
  // The mass of [a, b] equals its mirror image, and cells far out keep their (tiny) mass.
  EXPECT_NEAR(log_normal_mass(2, 3), log_normal_mass(-3, -2), 1e-12);
  EXPECT_NEAR(log_normal_mass(-1, 1), std::log(0.6826894921370859), 1e-14);
  EXPECT_NEAR(log_normal_mass(-40.5, -39.5), log_normal_cdf(-39.5) + std::log1p(-std::exp(log_normal_cdf(-40.5) - log_normal_cdf(-39.5))), 1e-9);
  EXPECT_TRUE(std::isfinite(log_normal_mass(60, 61)));
}

TEST(TruncatedNormal, QuantilesInvertTheMass) {
  for (const auto& [a, b] : {std::pair{-3.0, 3.0}, std::pair{-100.0, 0.5}, std::pair{0.0, 4.0}, std::pair{-2.0, -1.0}}) {
    for (double u : {0.001, 0.25, 0.5, 0.9, 0.999}) {
      const double x = truncated_normal_quantile(u, a, b);
      ASSERT_GE(x, a);
      ASSERT_LE(x, b);
      EXPECT_NEAR(std::exp(log_normal_mass(a, x) - log_normal_mass(a, b)), u, 1e-9) << a << " " << b << " " << u;
    }
  }
  EXPECT_EQ(truncated_normal_quantile(0, -1, 1), -1);
}

}  // namespace
}  // namespace whet::tune
