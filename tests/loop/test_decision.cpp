// The gate's rule worked out by hand: each check that can stop a challenger,
// in order, and the promotion when all pass.
#include <gtest/gtest.h>

#include "loop/decision.h"

namespace whet::loop {
namespace {

Evaluation winning() {
  Evaluation e;
  e.champion = "models:/t@champion (version 2)";
  e.champion_version = 2;
  e.comparison = {"accuracy", true, 0.60, 0.72, 0.12, 0.004, 125};
  e.bias = BiasComparison{2.0, 2.1, 0.05, 0.30, 0.10, false};
  e.forgetting = {true, true, ""};
  return e;
}

TEST(LoopDecision, AWinnerThatPassesEveryCheckIsPromoted) {
  const Verdict v = judge(winning(), WatchConfig{});
  EXPECT_TRUE(v.promote);
  EXPECT_EQ(v.reason, "better than models:/t@champion (version 2): accuracy 0.6 -> 0.72 (+0.12 better, p 0.004, 125 items)");
}

TEST(LoopDecision, TheForgettingGateComesFirst) {
  Evaluation e = winning();
  e.forgetting = {true, false, "tasks/general/text.jsonl perplexity 12.58 -> 17.72"};
  const Verdict v = judge(e, WatchConfig{});
  EXPECT_FALSE(v.promote);
  EXPECT_EQ(v.reason, "forgetting gate failed: tasks/general/text.jsonl perplexity 12.58 -> 17.72");
  e.forgetting = {false, true, ""};  // a method the gate does not judge: nothing stops it there
  EXPECT_TRUE(judge(e, WatchConfig{}).promote);
}

TEST(LoopDecision, AGrownCounterfactualGapStopsIt) {
  Evaluation e = winning();
  e.bias = BiasComparison{2.0, 2.5, 0.25, 0.01, 0.10, true};
  const Verdict v = judge(e, WatchConfig{});
  EXPECT_FALSE(v.promote);
  EXPECT_EQ(v.reason, "bias check failed: counterfactual gap 2 -> 2.5 (+25.0%, limit +10%, p 0.010)");
}

TEST(LoopDecision, ItMustBeBetterByTheMarginAndSignificantly) {
  Evaluation e = winning();
  WatchConfig config;
  config.min_improvement = 0.15;
  Verdict v = judge(e, config);
  EXPECT_FALSE(v.promote);
  EXPECT_NE(v.reason.find("not better than the champion by more than 0.15"), std::string::npos) << v.reason;

  e.comparison.p_value = 0.2;
  v = judge(e, WatchConfig{});
  EXPECT_FALSE(v.promote);
  EXPECT_NE(v.reason.find("not significantly better than the champion (p must be below 0.05)"), std::string::npos)
      << v.reason;

  // Perplexity: lower is better, and improvement is already signed that way.
  e.comparison = {"perplexity", false, 20.0, 25.0, -5.0, 0.99, 40};
  v = judge(e, WatchConfig{});
  EXPECT_FALSE(v.promote);
  EXPECT_NE(v.reason.find("perplexity 20 -> 25 (-5 better"), std::string::npos) << v.reason;
}

}  // namespace
}  // namespace whet::loop
