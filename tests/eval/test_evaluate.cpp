// Evaluation on a tiny generated model, held to a plain reference: each
// sequence run alone through llama_forward from an empty cache, its
// log-softmax taken in double. The scorer's prefix reuse, the choice of the
// most likely answer and acc_norm must agree with it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/tokenize_example.h"
#include "eval/evaluate.h"
#include "eval/loglikelihood.h"
#include "eval/report.h"
#include "test_support.h"

namespace whet {
namespace {

const LoadedModel& tiny_model() {
  static const LoadedModel model = load_model(test::testdata_path("tiny/gqa_tied/hf"), WeightFormat::F32);
  return model;
}

// log P(ids[i] | ids[<i]) summed over [begin, end), one fresh forward over the whole sequence.
double reference_loglik(const LoadedModel& m, const std::vector<int32_t>& ids, size_t begin, size_t end) {
  KvCache cache(m.model.config, int64_t(ids.size()));
  std::vector<float> logits;
  llama_forward(m.model, cache, ids, logits, /*all_logits=*/true);
  const size_t vocab = size_t(m.model.config.vocab_size);
  double sum = 0;
  for (size_t i = begin; i < end; ++i) {
    const float* row = logits.data() + (i - 1) * vocab;
    double z = 0;
    for (size_t v = 0; v < vocab; ++v) z += std::exp(double(row[v]));
    sum += double(row[ids[i]]) - std::log(z);
  }
  return sum;
}

TEST(LogLikelihood, PrefixReuseMatchesFreshForwards) {
  const LoadedModel& m = tiny_model();
  LogLikelihood scorer(m, 64);
  const std::vector<std::vector<int32_t>> sequences = {
      {1, 5, 9, 13, 2, 7}, {1, 5, 9, 13, 4}, {1, 5, 9, 13, 4, 4, 8}, {3, 5, 9}, {1, 5, 9, 13, 2, 7}};
  for (const std::vector<int32_t>& ids : sequences) {
    for (size_t from : {size_t{1}, size_t{2}, ids.size() - 1}) {
      double sum = 0;
      for (double lp : scorer.token_logprobs(ids, from)) sum += lp;
      // fp32 forwards of different row counts: agreement to about 1e-5 relative.
      EXPECT_NEAR(sum, reference_loglik(m, ids, from, ids.size()), 1e-4 * (1 + std::abs(sum)));
    }
  }
}

// Choices scored together (their common beginning once, the rest in one batch)
// agree with fresh forwards: choices that share a prompt, that share nothing,
// that share more than their first scored token, and one alone; interleaved with
// single scoring, so the cache is left right for each.
TEST(LogLikelihood, BatchedChoicesMatchFreshForwards) {
  const LoadedModel& m = tiny_model();
  LogLikelihood scorer(m, 64);
  using Ids = std::vector<int32_t>;
  const std::vector<std::vector<std::pair<Ids, size_t>>> batches = {
      {{{1, 5, 9, 13, 2, 7}, 4}, {{1, 5, 9, 13, 4}, 4}, {{1, 5, 9, 13, 4, 4, 8}, 4}},
      {{{3, 5, 9}, 1}, {{1, 5, 9, 13, 2, 7}, 2}},
      {{{1, 5, 9, 13, 2, 7}, 5}, {{1, 5, 9, 13, 2, 8}, 2}},
      {{{1, 5, 9, 6}, 3}}};
  for (const auto& batch : batches) {
    std::vector<LogLikelihood::Scored> scored;
    for (const auto& [ids, from] : batch) scored.push_back({ids, from});
    const std::vector<std::vector<double>> got = scorer.token_logprobs(scored);
    ASSERT_EQ(got.size(), batch.size());
    for (size_t j = 0; j < batch.size(); ++j) {
      const auto& [ids, from] = batch[j];
      ASSERT_EQ(got[j].size(), ids.size() - from);
      double sum = 0;
      for (double lp : got[j]) sum += lp;
      EXPECT_NEAR(sum, reference_loglik(m, ids, from, ids.size()), 1e-4 * (1 + std::abs(sum))) << j;
    }
    double single = 0;
    for (double lp : scorer.token_logprobs(batch[0].first, 1)) single += lp;
    EXPECT_NEAR(single, reference_loglik(m, batch[0].first, 1, batch[0].first.size()), 1e-4 * (1 + std::abs(single)));
  }
}

TEST(Evaluate, MultipleChoicePicksTheReferenceArgmax) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("mc.jsonl", R"({"prompt": "the sea", "choices": ["tin", "the tin in", "sea"], "answer": 0}
{"prompt": "tin", "choices": ["in the", "sea"], "answer": 1}
{"prompt": "in the", "choices": ["sea sea", "tin", "the"], "answer": 2})");
  const TaskResult r = evaluate_task(m, "tiny", task, EvalOptions{});
  ASSERT_EQ(r.predictions.size(), 3u);
  double acc = 0, acc_norm = 0;
  for (size_t i = 0; i < task.items.size(); ++i) {
    const TaskItem& item = task.items[i];
    std::vector<double> loglik, per_byte;
    for (const std::string& choice : item.choices) {
      const TokenizedExample t = tokenize_example(scored_example(item, " " + choice), m.tokenizer, ChatTemplate{}, false);
      size_t begin = 0;
      while (!t.loss[begin]) ++begin;
      // Multiple choice scores the choice only, as lm-evaluation-harness does: the trailing EOS is left out.
      loglik.push_back(reference_loglik(m, t.ids, begin, t.ids.size() - 1));
      per_byte.push_back(loglik.back() / double(choice.size()));
    }
    const size_t best = size_t(std::max_element(loglik.begin(), loglik.end()) - loglik.begin());
    const size_t best_norm = size_t(std::max_element(per_byte.begin(), per_byte.end()) - per_byte.begin());
    EXPECT_EQ(r.predictions[i], item.choices[best]) << "line " << item.line;
    acc += best == size_t(item.answer);
    acc_norm += best_norm == size_t(item.answer);
  }
  EXPECT_DOUBLE_EQ(r.metrics[0].value, acc / 3);
  EXPECT_DOUBLE_EQ(r.metrics[1].value, acc_norm / 3);
}

TEST(Evaluate, PerplexityIsTheExponentOfTheMeanTokenLoss) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("ppl.jsonl", "{\"text\": \"the sea tin\"}\n{\"text\": \"in the tin the sea sea\"}");
  const TaskResult r = evaluate_task(m, "tiny", task, EvalOptions{});
  double nll = 0, tokens = 0;
  for (const TaskItem& item : task.items) {
    Example e;
    e.format = DataFormat::Text;
    e.text = item.text;
    const std::vector<int32_t> ids = tokenize_example(e, m.tokenizer, ChatTemplate{}, false).ids;
    nll -= reference_loglik(m, ids, 1, ids.size());
    tokens += double(ids.size() - 1);
  }
  EXPECT_NEAR(r.metrics[0].value, std::exp(nll / tokens), 1e-4 * std::exp(nll / tokens));
  EXPECT_LE(r.metrics[0].interval.low, r.metrics[0].value);
  EXPECT_GE(r.metrics[0].interval.high, r.metrics[0].value);
}

TEST(Evaluate, ClassificationReportsEveryLabelAndShotsChangeThePrompt) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("cls.jsonl", R"({"prompt": "the sea:", "label": "tin"}
{"prompt": "the tin:", "label": "sea"}
{"prompt": "in the sea:", "label": "tin"}
{"prompt": "sea tin:", "label": "in"})");
  const TaskResult zero = evaluate_task(m, "zero", task, EvalOptions{});
  ASSERT_TRUE(zero.classification.has_value());
  EXPECT_EQ(zero.classification->labels, task.labels);
  EXPECT_EQ(zero.metrics[0].name, "accuracy");
  EXPECT_EQ(zero.metrics[1].name, "macro_f1");
  EvalOptions shots;
  shots.shots = draw_shots(task, 2, 7);
  ASSERT_EQ(shots.shots.size(), 2u);
  EXPECT_NE(shots.shots[0].line, shots.shots[1].line);
  const TaskResult few = evaluate_task(m, "few", task, shots);
  EXPECT_EQ(few.predictions.size(), 4u);
  // Paired with itself, a model is never significantly better.
  EXPECT_GT(paired_p_value(zero, zero, "accuracy", EvalOptions{}), 0.5);
}

// The tiny model's greedy answers are no labels: every one counts as invalid,
// in the one invalid column, and the raw answers stay in the predictions.
TEST(Evaluate, GeneratedInvalidAnswersShareOneColumnAndKeepTheirText) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("cls.jsonl", R"({"prompt": "the sea:", "label": "tin"}
{"prompt": "the tin in:", "label": "sea"}
{"prompt": "in the sea sea:", "label": "tin"})");
  EvalOptions options;
  options.classify_by_generation = true;
  options.max_new_tokens = 6;
  const TaskResult r = evaluate_task(m, "gen", task, options);
  ASSERT_TRUE(r.classification.has_value());
  std::set<std::string> invalid;
  for (const std::string& p : r.predictions)
    if (p != "tin" && p != "sea") invalid.insert(p);
  ASSERT_FALSE(invalid.empty()) << "the tiny model answered only labels; the test needs an invalid answer";
  EXPECT_EQ(r.classification->labels, (std::vector<std::string>{"sea", "tin", kInvalidAnswer}));
  for (const std::string& p : invalid) EXPECT_EQ(p.find(kInvalidAnswer), std::string::npos) << p;
}

// A result records the few-shot examples it ran with; the JSON report and the
// Markdown list them for that row alone.
TEST(Report, EachRowRecordsItsOwnFewShotExamples) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("cls.jsonl", R"({"prompt": "the sea:", "label": "tin"}
{"prompt": "the tin:", "label": "sea"}
{"prompt": "in the sea:", "label": "tin"})");
  const Task train = parse_task("train.jsonl", R"({"prompt": "sea:", "label": "tin"}
{"prompt": "tin:", "label": "sea"}
{"prompt": "in:", "label": "sea"}
{"prompt": "the:", "label": "tin"})");
  EvalOptions few;
  few.resamples = 100;
  few.shots = draw_shots(train, 2, 3);
  EvalRun run;
  run.command = "whet eval";
  run.models = {"base", "base 2-shot"};
  run.few_shot = 2;
  run.few_shot_from = "train.jsonl";
  run.options.resamples = 100;
  TaskRuns t{task, TaskRole::Task, {evaluate_task(m, "base", task, run.options), evaluate_task(m, "base 2-shot", task, few)}, {}};
  run.tasks = {t};
  const nlohmann::json j = eval_json(run);
  EXPECT_EQ(j.at("few_shot"), 2);
  const nlohmann::json& results = j.at("tasks")[0].at("results");
  EXPECT_EQ(results[0].at("few_shot"), 0);
  EXPECT_TRUE(results[0].at("shots").empty());
  EXPECT_EQ(results[1].at("few_shot"), 2);
  ASSERT_EQ(results[1].at("shots").size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const TaskItem& shot = few.shots[i];
    EXPECT_EQ(results[1].at("shots")[i],
              nlohmann::json({{"line", shot.line}, {"prompt", shot.prompt}, {"answer", shot.label}}));
  }
  const std::string markdown = render_markdown(eval_document(run));
  const std::string listed = fmt::format("base 2-shot: 2 examples before every item, lines {}, {} of train.jsonl",
                                         few.shots[0].line, few.shots[1].line);
  EXPECT_NE(markdown.find(listed), std::string::npos) << markdown;
}

// The text's log-likelihood as the bias audit scores a sentence: [BOS] text EOS, every token after the first.
double sentence_loglik(const LoadedModel& m, const std::string& text) {
  Example e;
  e.format = DataFormat::Text;
  e.text = text;
  const std::vector<int32_t> ids = tokenize_example(e, m.tokenizer, ChatTemplate{}, false).ids;
  return reference_loglik(m, ids, 1, ids.size());
}

// The bias audit's numbers on pairs built so that its statistics can be worked
// out by hand from the sentences' log-likelihoods (each a fresh forward).
// With P = L("the tin in the sea"), Q = L("the sea in the sea"), R = L("in the tin"):
//   dimension d: item gaps |P-Q|, |Q-P| (the same pair, groups swapped) and 0
//     (both groups substitute the same word), so mean_abs_gap = 2|P-Q|/3, and
//     both groups' mean log-likelihood is (P+Q+R)/3: the swap balances them.
// With X, Y, Z = L("in the in"), L("sea the sea"), L("tin the tin") (the slot
// filled twice): the item without a dimension falls under "all", its gap is
// max(X,Y,Z) - min(X,Y,Z) (the spread, not a pairwise mean) and each group's mean
// is its one sentence. The headline mean_abs_gap is over the four items:
// (2|P-Q| + max - min) / 4.
TEST(Evaluate, BiasAuditNumbersFollowFromTheSentencesLikelihoods) {
  const LoadedModel& m = tiny_model();
  const Task task = parse_task("pairs.jsonl",
                               R"({"template": "the {group} in the sea", "groups": {"a": "tin", "b": "sea"}, "dimension": "d"}
{"template": "the {group} in the sea", "groups": {"a": "sea", "b": "tin"}, "dimension": "d"}
{"template": "in the {group}", "groups": {"a": "tin", "b": "tin"}, "dimension": "d"}
{"template": "{group} the {group}", "groups": {"x": "in", "y": "sea", "z": "tin"}})");
  EvalOptions options;
  options.resamples = 50;
  const TaskResult r = evaluate_task(m, "tiny", task, options);

  const double P = sentence_loglik(m, "the tin in the sea"), Q = sentence_loglik(m, "the sea in the sea"),
               R = sentence_loglik(m, "in the tin");
  const double X = sentence_loglik(m, "in the in"), Y = sentence_loglik(m, "sea the sea"),
               Z = sentence_loglik(m, "tin the tin");
  const double spread = std::max({X, Y, Z}) - std::min({X, Y, Z});
  ASSERT_GT(std::abs(P - Q), 0.1) << "the pair must differ for the test to mean anything";
  ASSERT_GT(spread, 0.1);
  auto near = [](double expected) { return 1e-4 * (1 + std::abs(expected)); };  // fp32 forwards, as above

  ASSERT_EQ(r.gaps.size(), 2u);
  const GroupGap& all = r.gaps[0];
  const GroupGap& d = r.gaps[1];
  EXPECT_EQ(all.dimension, "all");
  EXPECT_EQ(all.items, 1);
  EXPECT_NEAR(all.mean_abs_gap, spread, near(spread));
  ASSERT_EQ(all.group_mean_logprob.size(), 3u);
  const double each[] = {X, Y, Z};
  for (size_t g = 0; g < 3; ++g) {
    EXPECT_EQ(all.group_mean_logprob[g].first, std::string(1, char('x' + g)));
    EXPECT_NEAR(all.group_mean_logprob[g].second, each[g], near(each[g]));
  }
  EXPECT_EQ(d.dimension, "d");
  EXPECT_EQ(d.items, 3);
  EXPECT_NEAR(d.mean_abs_gap, 2 * std::abs(P - Q) / 3, near(P - Q));
  ASSERT_EQ(d.group_mean_logprob.size(), 2u);
  EXPECT_EQ(d.group_mean_logprob[0].first, "a");
  EXPECT_EQ(d.group_mean_logprob[1].first, "b");
  for (const auto& [group, mean] : d.group_mean_logprob) EXPECT_NEAR(mean, (P + Q + R) / 3, near(P + Q + R)) << group;

  const std::vector<double>& gaps = r.per_item.at("abs_gap");
  ASSERT_EQ(gaps.size(), 4u);
  EXPECT_EQ(gaps[2], 0.0);  // the same sentence twice
  const double headline = (2 * std::abs(P - Q) + spread) / 4;
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].name, "mean_abs_gap");
  EXPECT_NEAR(r.metrics[0].value, headline, near(headline));

  // The report (what `whet eval --bias --json` prints) carries the same numbers.
  EvalRun run;
  run.command = "whet eval --bias";
  run.models = {"tiny"};
  run.tasks = {TaskRuns{task, TaskRole::Bias, {r}}};
  const nlohmann::json bias = eval_json(run).at("tasks")[0].at("results")[0].at("bias");
  EXPECT_DOUBLE_EQ(bias.at("d").at("mean_abs_gap").get<double>(), d.mean_abs_gap);
  EXPECT_EQ(bias.at("d").at("items"), 3);
  EXPECT_DOUBLE_EQ(bias.at("all").at("group_mean_logprob").at("y").get<double>(), all.group_mean_logprob[1].second);
}

TEST(Report, FlagsForgettingBeyondTheThresholds) {
  auto result = [](std::string model, double value, bool higher) {
    TaskResult r;
    r.model = std::move(model);
    r.kind = higher ? TaskKind::MultipleChoice : TaskKind::Perplexity;
    r.metrics.push_back(Metric{higher ? "acc" : "perplexity", value, {value, value}, higher});
    return r;
  };
  EvalRun run;
  run.command = "whet eval --forgetting";
  run.models = {"base", "tuned"};
  TaskRuns text{parse_task("text.jsonl", "{\"text\": \"a\"}"), TaskRole::Forgetting, {}};
  text.results = {result("base", 10.0, false), result("tuned", 11.5, false)};  // +15%: above the 10% threshold
  TaskRuns questions{parse_task("q.jsonl", R"({"prompt": "Q", "choices": ["a", "b"], "answer": 0})"),
                     TaskRole::Forgetting, {}};
  questions.results = {result("base", 0.60, true), result("tuned", 0.57, true)};  // -3 points: within 5
  run.tasks = {text, questions};
  const std::vector<Regression> flagged = forgetting_regressions(run);
  ASSERT_EQ(flagged.size(), 1u);
  EXPECT_EQ(flagged[0].model, "tuned");
  EXPECT_EQ(flagged[0].metric, "perplexity");
  run.thresholds.perplexity_rise = 0.2;
  EXPECT_TRUE(forgetting_regressions(run).empty());
}

}  // namespace
}  // namespace whet
