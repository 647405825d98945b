// The forgetting gate's judgement on results worked out by hand: a loss beyond
// the limit that the paired bootstrap confirms fails; a small loss passes; a
// loss beyond the limit on too few items to tell from noise passes with a note;
// the verdict file round-trips.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "eval/gate.h"
#include "test_support.h"

namespace whet {
namespace {

// A perplexity result whose items each have `tokens` tokens and the given summed losses.
TaskResult perplexity_result(const std::vector<double>& nll, double tokens) {
  TaskResult r;
  r.kind = TaskKind::Perplexity;
  double n = 0;
  for (double x : nll) {
    r.per_item["nll"].push_back(x);
    r.per_item["tokens"].push_back(tokens);
    r.predictions.emplace_back();
    n += x;
  }
  r.metrics.push_back({"perplexity", std::exp(n / (tokens * double(nll.size()))), {}, false});
  return r;
}

// A multiple-choice result from per-item correctness.
TaskResult questions_result(const std::vector<int>& correct) {
  TaskResult r;
  r.kind = TaskKind::MultipleChoice;
  double sum = 0;
  for (int c : correct) {
    r.per_item["acc"].push_back(c);
    r.per_item["acc_norm"].push_back(c);
    r.predictions.push_back(std::to_string(c));
    sum += c;
  }
  r.metrics.push_back({"acc", sum / double(correct.size()), {}, true});
  r.metrics.push_back({"acc_norm", sum / double(correct.size()), {}, true});
  return r;
}

// 40 texts of 10 tokens at a mean loss of about 2.5 per token, varying by item.
std::vector<double> base_losses() {
  std::vector<double> nll;
  for (int i = 0; i < 40; ++i) nll.push_back(25.0 + double(i % 5) - 2.0);
  return nll;
}

std::vector<double> shifted(std::vector<double> nll, double per_item) {
  for (double& x : nll) x += per_item;
  return nll;
}

// 60 questions, `right` of them answered correctly (the first ones).
std::vector<int> answers(int right) {
  std::vector<int> v(60, 0);
  for (int i = 0; i < right; ++i) v[size_t(i)] = 1;
  return v;
}

GateScores scores(TaskResult text, TaskResult questions) { return GateScores{{std::move(text), std::move(questions)}, {}}; }

TEST(ForgettingGate, ARealPerplexityRiseBeyondTheLimitFails) {
  // +0.5 nats on every 10-token text: perplexity × e^0.05 = +5.1%; +2 nats: × e^0.2 = +22.1%.
  const GateScores base = scores(perplexity_result(base_losses(), 10), questions_result(answers(30)));
  const GateScores small = scores(perplexity_result(shifted(base_losses(), 0.5), 10), questions_result(answers(30)));
  const GateScores large = scores(perplexity_result(shifted(base_losses(), 2.0), 10), questions_result(answers(30)));

  const GateVerdict pass = judge_forgetting(base, small, {0.10, 0.05});
  EXPECT_TRUE(pass.passed);
  EXPECT_NEAR(pass.general[0].change, std::exp(0.05) - 1, 1e-12);
  EXPECT_FALSE(pass.general[0].beyond_limit);

  const GateVerdict fail = judge_forgetting(base, large, {0.10, 0.05});
  EXPECT_FALSE(fail.passed);
  EXPECT_NEAR(fail.general[0].change, std::exp(0.2) - 1, 1e-12);
  EXPECT_TRUE(fail.general[0].beyond_limit);
  EXPECT_TRUE(fail.general[0].failed);
  EXPECT_LT(fail.general[0].p_worse, 0.01);  // every item got worse
  EXPECT_FALSE(fail.general[1].failed);      // the questions did not change
  EXPECT_NE(describe(fail).find("FAILED"), std::string::npos);
}

TEST(ForgettingGate, AnAccuracyDropIsJudgedInPoints) {
  const GateScores base = scores(perplexity_result(base_losses(), 10), questions_result(answers(30)));
  // 30/60 -> 20/60: -0.167, ten questions lost and none gained.
  const GateVerdict fail = judge_forgetting(
      base, scores(perplexity_result(base_losses(), 10), questions_result(answers(20))), {0.10, 0.05});
  EXPECT_FALSE(fail.passed);
  EXPECT_NEAR(fail.general[1].change, -10.0 / 60, 1e-12);
  EXPECT_DOUBLE_EQ(fail.general[1].limit, -0.05);
  EXPECT_TRUE(fail.general[1].failed);
  // 30/60 -> 28/60 is within 5 points.
  EXPECT_TRUE(judge_forgetting(base, scores(perplexity_result(base_losses(), 10), questions_result(answers(28))),
                               {0.10, 0.05})
                  .passed);
}

TEST(ForgettingGate, ALossBeyondTheLimitThatIsNoiseIsReportedButPasses) {
  // Two texts: one much worse, one much better; the overall perplexity rises by
  // more than 10%, but in half the resamples the base is not better.
  const GateScores base = scores(perplexity_result({10.0, 30.0}, 10), questions_result(answers(30)));
  const GateScores tuned = scores(perplexity_result({24.0, 18.0}, 10), questions_result(answers(30)));
  const GateVerdict v = judge_forgetting(base, tuned, {0.10, 0.05});
  EXPECT_NEAR(v.general[0].change, std::exp(0.1) - 1, 1e-12);
  EXPECT_TRUE(v.general[0].beyond_limit);
  EXPECT_GT(v.general[0].p_worse, 0.05);
  EXPECT_FALSE(v.general[0].failed);
  EXPECT_TRUE(v.passed);
  EXPECT_NE(describe(v).find("within noise"), std::string::npos);
}

TEST(ForgettingGate, ADivergedModelFails) {
  const GateScores base = scores(perplexity_result(base_losses(), 10), questions_result(answers(30)));
  std::vector<double> diverged = base_losses();
  diverged[3] = std::numeric_limits<double>::quiet_NaN();
  const GateVerdict v = judge_forgetting(base, scores(perplexity_result(diverged, 10), questions_result(answers(30))),
                                         {0.10, 0.05});
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(v.general[0].failed);
}

TEST(ForgettingGate, TheVerdictFileRoundTrips) {
  const std::string dir = test::scratch_dir("gate_verdict");
  EXPECT_FALSE(read_gate_verdict(dir).has_value());
  const GateScores base = scores(perplexity_result(base_losses(), 10), questions_result(answers(30)));
  const GateScores tuned = scores(perplexity_result(shifted(base_losses(), 2.0), 10), questions_result(answers(30)));
  write_gate_verdict(dir, judge_forgetting(base, tuned, {0.10, 0.05}));
  const std::optional<GateRecord> record = read_gate_verdict(dir);
  ASSERT_TRUE(record.has_value());
  EXPECT_FALSE(record->passed);
  EXPECT_NE(record->reason.find("tasks/general/text.jsonl perplexity"), std::string::npos) << record->reason;

  std::ofstream(dir + "/gate.json") << "{\"checks\": []}";
  try {
    read_gate_verdict(dir);
    FAIL() << "a gate.json without a verdict was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gate.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("passed"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace whet
