// The samplers on synthetic objectives with known optima, seeded: random is
// reproducible and uniform, the grid takes every point once, TPE reaches a
// target in fewer trials than random (a 2-D quadratic and a conditional space,
// averaged over seeds) and splits the trials as Optuna does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"
#include "tune/space_text.h"
#include "tune/grid_sampler.h"
#include "tune/param_values.h"
#include "tune/random_sampler.h"
#include "tune/sampler.h"
#include "tune/search_space.h"
#include "tune/tpe_sampler.h"

namespace whet::tune {
namespace {

SearchSpace parse(const std::string& text) { return parse_test_space(text); }

using Objective = std::function<double(const std::map<std::string, double>&)>;

Trial complete(int64_t number, const SearchSpace& space, std::map<std::string, double> params, double value) {
  Trial t;
  t.number = number;
  t.state = TrialState::Complete;
  t.distributions = distributions_of(space, params);
  t.params = std::move(params);
  t.value = value;
  return t;
}

// The trials of a study that ran `count` trials one after another.
std::vector<Trial> run_study(const Sampler& sampler, const SearchSpace& space, const Objective& f, int count) {
  std::vector<Trial> history;
  for (int n = 0; n < count; ++n) {
    std::map<std::string, double> params = sampler.sample(space, history, Direction::Minimize, n);
    const double value = f(params);
    history.push_back(complete(n, space, std::move(params), value));
  }
  return history;
}

// How many trials a study needs until one scores below `target` (`limit` if none does).
int trials_to_reach(const Sampler& sampler, const SearchSpace& space, const Objective& f, double target, int limit) {
  std::vector<Trial> history;
  for (int n = 0; n < limit; ++n) {
    std::map<std::string, double> params = sampler.sample(space, history, Direction::Minimize, n);
    const double value = f(params);
    if (value < target) return n + 1;
    history.push_back(complete(n, space, std::move(params), value));
  }
  return limit;
}

// The mean of trials_to_reach over seeds 1..seeds.
double mean_trials(SamplerKind kind, const SearchSpace& space, const Objective& f, double target, int seeds) {
  constexpr int kLimit = 400;
  double sum = 0;
  for (int seed = 1; seed <= seeds; ++seed) sum += trials_to_reach(*make_sampler(kind, seed), space, f, target, kLimit);
  return sum / seeds;
}

const std::string kQuadratic =
    "learning_rate: {type: float, low: -10, high: 10}\n"
    "lora_dropout: {type: float, low: -10, high: 10}\n";

double quadratic(const std::map<std::string, double>& p) {
  const double x = p.at("learning_rate") - 1, y = p.at("lora_dropout") + 2;
  return x * x + y * y;
}

// method a: x² (optimum 0 at x = 0); b: (n - 70)²/100 + 3 (best 3); c: 5. (With b's best
// below c's and both below most of a, TPE settles on b, a local optimum, and
// loses to random: Optuna's TPE does the same on such a deceptive space.)
const std::string kConditional =
    "method: {type: categorical, choices: [a, b, c]}\n"
    "learning_rate: {type: float, low: -10, high: 10, when: {method: a}}\n"
    "lora_r: {type: int, low: 0, high: 100, when: {method: b}}\n";

double conditional(const std::map<std::string, double>& p) {
  switch (int(p.at("method"))) {
    case 0:
      return p.at("learning_rate") * p.at("learning_rate");
    case 1:
      return (p.at("lora_r") - 70) * (p.at("lora_r") - 70) / 100 + 3;
    default:
      return 5;
  }
}

// The mean trials TPE and random search need over seeds 1-20, each held to its bound.
void expect_tpe_ahead(const std::string& space_text, const Objective& f, double target, double tpe_at_most,
                      double random_at_least) {
  const SearchSpace space = parse(space_text);
  const double tpe = mean_trials(SamplerKind::Tpe, space, f, target, 20);
  const double random = mean_trials(SamplerKind::Random, space, f, target, 20);
  EXPECT_LT(tpe, tpe_at_most) << "random: " << random;
  EXPECT_GT(random, random_at_least) << "tpe: " << tpe;
}

// Measured over seeds 1-20 (the trials until one is below the target; 400 if none is):
//   quadratic below 0.25 (a disc of 1/509 of the square): TPE 45.0 trials, univariate TPE 57.6, random 226.0;
//   conditional below 0.1 (method a and |x| < 0.32, 1/95 of random draws): TPE 45.5, random 85.3.
// Over seeds 1-100: quadratic 41.0, 57.7 and 261.8; conditional 34.3 and 91.0; Optuna 5.1 on the
// same problems over its seeds 1-100: quadratic 37.8 (TPESampler(multivariate=True, group=True)),
// 53.2 (multivariate=False) and 291.3 (RandomSampler); conditional 38.2 and 82.9. The bounds leave
// room for another libm's rounding, which changes every draw, but not for TPE losing its lead.
TEST(TpeSampler, ReachesTheTargetInFewerTrialsThanRandomOnAQuadratic) {
  expect_tpe_ahead(kQuadratic, quadratic, 0.25, 60, 180);
}

TEST(TpeSampler, ReachesTheTargetInFewerTrialsThanRandomOnAConditionalSpace) {
  expect_tpe_ahead(kConditional, conditional, 0.1, 60, 65);
}

TEST(TpeSampler, UnivariateAlsoBeatsRandom) {
  const SearchSpace space = parse(kQuadratic);
  double sum = 0;
  for (int seed = 1; seed <= 20; ++seed) {
    sum += trials_to_reach(TpeSampler(seed, {.multivariate = false}), space, quadratic, 0.25, 400);
  }
  EXPECT_LT(sum / 20, 80);
}

TEST(TpeSampler, SamplesOnlyActiveParametersAndAResumedStudyAgain) {
  const SearchSpace space = parse(kConditional);
  const TpeSampler sampler(3, {});
  const std::vector<Trial> trials = run_study(sampler, space, conditional, 30);
  for (const Trial& t : trials) {
    const int method = int(t.params.at("method"));
    EXPECT_EQ(t.params.count("learning_rate"), method == 0 ? 1u : 0u);
    EXPECT_EQ(t.params.count("lora_r"), method == 1 ? 1u : 0u);
    if (method == 1) {
      EXPECT_EQ(t.params.at("lora_r"), std::round(t.params.at("lora_r")));
    }
  }
  // Trial 20 sampled again from the first 20 trials (in another order): the same values.
  std::vector<Trial> before(trials.begin(), trials.begin() + 20);
  std::reverse(before.begin(), before.end());
  EXPECT_EQ(sampler.sample(space, before, Direction::Minimize, 20), trials[20].params);
  EXPECT_NE(TpeSampler(4, {}).sample(space, before, Direction::Minimize, 20), trials[20].params);
  // The study may already hold trial 20 itself, running: it is passed over.
  before.push_back(trials[20]);
  before.back().state = TrialState::Running;
  EXPECT_EQ(sampler.sample(space, before, Direction::Minimize, 20), trials[20].params);
}

// Optuna's split: γ(n) complete trials by value, then pruned ones (later last
// step first, then by the value there, NaN and no report last); running ones above.
TEST(TpeSampler, SplitsTrialsAsOptuna) {
  EXPECT_EQ(default_gamma(0), 0u);
  EXPECT_EQ(default_gamma(1), 1u);
  EXPECT_EQ(default_gamma(10), 1u);
  EXPECT_EQ(default_gamma(11), 2u);
  EXPECT_EQ(default_gamma(400), 25u);
  std::vector<Trial> history(8);
  for (int i = 0; i < 8; ++i) history[i].number = 7 - i;  // any order
  auto set = [&](int number, TrialState state, std::optional<double> value, std::map<int64_t, double> steps) {
    Trial& t = history[7 - number];
    t.state = state;
    t.value = value;
    t.intermediate = std::move(steps);
  };
  set(0, TrialState::Complete, 3.0, {});
  set(1, TrialState::Complete, 1.0, {});
  set(2, TrialState::Pruned, {}, {{1, 0.5}, {2, 2.0}});   // reached step 2
  set(3, TrialState::Pruned, {}, {{1, 0.1}});             // only step 1, however good
  set(4, TrialState::Pruned, {}, {{2, 1.5}});             // step 2, better than trial 2
  set(5, TrialState::Pruned, {}, {});                     // nothing reported: last
  set(6, TrialState::Running, {}, {});
  set(7, TrialState::Fail, {}, {});
  auto numbers = [](const std::vector<const Trial*>& trials) {
    std::vector<int64_t> out;
    for (const Trial* t : trials) out.push_back(t->number);
    return out;
  };
  // Ranked: 1, 0 (complete), then 4, 2, 3, 5 (pruned).
  const TrialSplit three = split_trials(history, Direction::Minimize, 3);
  EXPECT_EQ(numbers(three.below), (std::vector<int64_t>{0, 1, 4}));
  EXPECT_EQ(numbers(three.above), (std::vector<int64_t>{2, 3, 5, 6}));
  const TrialSplit one = split_trials(history, Direction::Maximize, 1);  // complete 0 is now the best
  EXPECT_EQ(numbers(one.below), (std::vector<int64_t>{0}));
  // Maximising, pruned trials at step 2 rank by the higher value: 2 (2.0) before 4 (1.5).
  const TrialSplit four = split_trials(history, Direction::Maximize, 4);
  EXPECT_EQ(numbers(four.below), (std::vector<int64_t>{0, 1, 2, 4}));
}

TEST(RandomSampler, IsReproducibleFromItsSeedAndUniform) {
  const SearchSpace space = parse(
      "learning_rate: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}\n"
      "lora_dropout: {type: float, low: 0, high: 0.3, step: 0.1}\n"
      "lora_r: {type: int, low: 2, high: 64, log: true}\n"
      "method: {type: categorical, choices: [a, b, c, d]}\n");
  const RandomSampler sampler(11);
  std::map<double, int> dropout, method;
  int below_1e3 = 0, r_at_most_8 = 0;
  for (int n = 0; n < 4000; ++n) {
    const std::map<std::string, double> p = sampler.sample(space, {}, Direction::Minimize, n);
    ASSERT_EQ(p, sampler.sample(space, {}, Direction::Minimize, n));
    ASSERT_EQ(p, RandomSampler(11).sample(space, {}, Direction::Minimize, n));
    const double lr = p.at("learning_rate"), r = p.at("lora_r");
    ASSERT_TRUE(lr >= 1e-5 && lr <= 1e-1) << lr;
    ASSERT_TRUE(r >= 2 && r <= 64 && r == std::round(r)) << r;
    below_1e3 += lr < 1e-3;
    r_at_most_8 += r <= 8;
    ++dropout[std::round(p.at("lora_dropout") * 10)];
    ++method[p.at("method")];
  }
  // Uniform on each scale: lr below 1e-3 is 2 of 4 decades; r ≤ 8 is log(8.5/1.5) / log(64.5/1.5) = 46%;
  // the 4 dropout values and the 4 choices 1/4 each (binomial spread about ±30 at 4000 draws).
  EXPECT_NEAR(below_1e3, 2000, 120);
  EXPECT_NEAR(r_at_most_8, 4000 * std::log(8.5 / 1.5) / std::log(64.5 / 1.5), 120);
  for (const auto& counts : {dropout, method}) {
    ASSERT_EQ(counts.size(), 4u);
    for (const auto& [value, count] : counts) EXPECT_NEAR(count, 1000, 120) << value;
  }
  EXPECT_NE(RandomSampler(12).sample(space, {}, Direction::Minimize, 0), sampler.sample(space, {}, Direction::Minimize, 0));
}

TEST(GridSampler, TakesEveryPointOnceConditionsIncluded) {
  const SearchSpace space = parse(
      "method: {type: categorical, choices: [full, lora]}\n"
      "lora_r: {type: int, low: 4, high: 32, grid: [8, 32], when: {method: lora}}\n"
      "lora_dropout: {type: float, low: 0, high: 0.2, step: 0.1}\n");
  const GridSampler sampler;
  // full × 3 dropouts + lora × 2 ranks × 3 dropouts.
  ASSERT_EQ(sampler.size(space), 9u);
  const std::vector<Trial> trials = run_study(sampler, space, [](const auto&) { return 0.0; }, 9);
  std::set<std::map<std::string, double>> seen;
  for (const Trial& t : trials) {
    EXPECT_TRUE(seen.insert(t.params).second) << "point taken twice at trial " << t.number;
    EXPECT_EQ(t.params.count("lora_r"), t.params.at("method") == 1 ? 1u : 0u);
  }
  EXPECT_EQ(grid_points(space).front(), (Point{{"method", 0}, {"lora_dropout", 0}}));
  EXPECT_EQ(trials[4].params, (Point{{"method", 1}, {"lora_r", 8}, {"lora_dropout", 0.1}}));
  // Once all are taken, trial 9 repeats point 9 mod 9; a failed or running trial's point is taken too.
  EXPECT_EQ(sampler.sample(space, trials, Direction::Minimize, 9), trials[0].params);
  EXPECT_EQ(sampler.sample(space, trials, Direction::Minimize, 4), trials[4].params);  // passes over trial 4 itself
  std::vector<Trial> partial(trials.begin(), trials.begin() + 3);
  partial[1].state = TrialState::Fail;
  partial.push_back(trials[5]);
  partial.back().state = TrialState::Running;
  EXPECT_EQ(sampler.sample(space, partial, Direction::Minimize, 4), trials[3].params);
}

TEST(GridSampler, RefusesFloatsWithoutValuesAndHugeGrids) {
  test::expect_error([&] { GridSampler().size(parse("learning_rate:\n  type: float\n  low: 0\n  high: 1\n")); },
                     {"[space.yaml:1]", "learning_rate", "needs a step or a grid list"});
  test::expect_error(
      [&] { GridSampler().size(parse("lora_r: {type: int, low: 1, high: 1000}\nlora_alpha: {type: int, low: 1, high: 1000}\n")); },
      {"[space.yaml]", "more than 100000 points"});
}

}  // namespace
}  // namespace whet::tune
