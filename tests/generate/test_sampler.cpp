// Sampling filters against hand-computed distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "generate/sampler.h"

namespace whet {
namespace {

std::map<int32_t, double> frequencies(SamplingParams params, std::vector<float> logits, int draws,
                                      std::vector<int32_t> history = {}) {
  Sampler sampler(params);
  std::map<int32_t, double> counts;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> l = logits;
    counts[sampler.sample(l, history)] += 1.0 / draws;
  }
  return counts;
}

TEST(Sampler, TemperatureZeroIsArgmax) {
  SamplingParams p;
  p.temperature = 0;
  auto f = frequencies(p, {0.1f, 2.0f, 1.9f, -5.0f}, 50);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.begin()->first, 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.0f;
  // token 1 (3.0 -> 1.5) falls below token 0 (2.0); a seen negative logit only gets worse.
  auto f = frequencies(p, {2.0f, 3.0f, -1.0f}, 1, {1, 2});
  EXPECT_EQ(f.begin()->first, 0);
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  auto f = frequencies(p, {1.0f, 3.0f, 2.0f, 0.0f}, 4000);
  EXPECT_EQ(f.count(0) + f.count(3), 0u);
  // Renormalised over {1, 2}: p(1) = e^3 / (e^3 + e^2) = 0.731
  EXPECT_NEAR(f[1], 0.731, 0.03);
}

TEST(Sampler, TopPCutsTheTail) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.6f;
  // Probabilities 0.5, 0.3, 0.2 (log-probs as logits): 0.5 < 0.6, so the second stays; the third goes.
  auto f = frequencies(p, {std::log(0.5f), std::log(0.3f), std::log(0.2f)}, 4000);
  EXPECT_EQ(f.count(2), 0u);
  EXPECT_NEAR(f[0], 0.625, 0.03);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.min_p = 0.5f;
  // 0.5, 0.3, 0.2: threshold 0.25 keeps the first two.
  auto f = frequencies(p, {std::log(0.5f), std::log(0.3f), std::log(0.2f)}, 4000);
  EXPECT_EQ(f.count(2), 0u);
}

// No filter: the whole softmax, temperature applied (a path of its own, without sorting).
TEST(Sampler, WithoutFiltersDrawsFromTheWholeSoftmax) {
  SamplingParams p;
  p.temperature = 2.0f;
  // Logits 2·log(0.1, 0.2, 0.3, 0.4) at temperature 2: the probabilities 0.1, 0.2, 0.3, 0.4.
  auto f = frequencies(p, {2 * std::log(0.1f), 2 * std::log(0.2f), 2 * std::log(0.3f), 2 * std::log(0.4f)}, 20000);
  EXPECT_NEAR(f[0], 0.1, 0.01);
  EXPECT_NEAR(f[1], 0.2, 0.015);
  EXPECT_NEAR(f[2], 0.3, 0.015);
  EXPECT_NEAR(f[3], 0.4, 0.015);
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 42;
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(i % 7);
  Sampler a(p), b(p);
  for (int i = 0; i < 20; ++i) {
    auto la = logits, lb = logits;
    EXPECT_EQ(a.sample(la, {}), b.sample(lb, {}));
  }
}

}  // namespace
}  // namespace whet
