// The trivial baselines of a classification task, against values worked out
// by hand and by enumerating every possible guess; and the report's flag on a
// model that does not beat them.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/baselines.h"
#include "eval/report.h"

namespace whet {
namespace {

Task labelled(const std::string& path, const std::vector<std::string>& labels) {
  std::string text;
  for (const std::string& label : labels) text += R"({"prompt": "p", "label": ")" + label + "\"}\n";
  return parse_task(path, text);
}

const Metric& metric(const TaskResult& r, const std::string& name) {
  for (const Metric& m : r.metrics)
    if (m.name == name) return m;
  throw std::runtime_error("no metric " + name);
}

TEST(Baselines, MajorityLabelBreaksTiesBySortedOrder) {
  EXPECT_EQ(majority_label(labelled("t", {"b", "a", "b", "c"}).items), "b");
  EXPECT_EQ(majority_label(labelled("t", {"c", "b", "b", "c"}).items), "b");
}

// Always "a" on references a a a b c: accuracy 3/5; a: P 3/5, R 1, F1 3/4; b, c: F1 0;
// macro 1/4; micro = accuracy (every prediction is a label).
TEST(Baselines, MajorityRowByHand) {
  const Task task = labelled("test.jsonl", {"a", "a", "b", "a", "c"});
  const TrivialBaseline b = majority_baseline(task, "a", "always a", EvalOptions{});
  EXPECT_DOUBLE_EQ(metric(b.result, "accuracy").value, 0.6);
  EXPECT_DOUBLE_EQ(metric(b.result, "macro_f1").value, 0.25);
  EXPECT_DOUBLE_EQ(metric(b.result, "micro_f1").value, 0.6);
  const Interval i = metric(b.result, "accuracy").interval;
  EXPECT_LE(i.low, 0.6);
  EXPECT_GE(i.high, 0.6);
  EXPECT_LT(i.low, i.high);  // a bootstrap interval over items, as for a model
}

// The majority comes from the training file when it is one of the task's labels.
TEST(Baselines, MajorityFromTheTrainingFileWhenGiven) {
  const Task test = labelled("test.jsonl", {"a", "a", "b"});
  const Task train = labelled("train.jsonl", {"b", "b", "a"});
  const std::vector<TrivialBaseline> from_train = trivial_baselines(test, &train, EvalOptions{});
  ASSERT_EQ(from_train.size(), 2u);
  EXPECT_EQ(from_train[0].result.model, "majority class (always 'b')");
  EXPECT_NE(from_train[0].basis.find("train.jsonl"), std::string::npos) << from_train[0].basis;
  EXPECT_NEAR(metric(from_train[0].result, "accuracy").value, 1.0 / 3, 1e-12);
  const std::vector<TrivialBaseline> from_test = trivial_baselines(test, nullptr, EvalOptions{});
  EXPECT_EQ(from_test[0].result.model, "majority class (always 'a')");
  EXPECT_NE(from_test[0].basis.find("test items"), std::string::npos) << from_test[0].basis;
  // A training file whose majority label the task does not have: the test items decide, and the basis says why.
  const Task other = labelled("other.jsonl", {"z", "z", "a"});
  const std::vector<TrivialBaseline> fallback = trivial_baselines(test, &other, EvalOptions{});
  EXPECT_EQ(fallback[0].result.model, "majority class (always 'a')");
  EXPECT_NE(fallback[0].basis.find("no label of this task"), std::string::npos) << fallback[0].basis;
}

// Two items, labels a and b, guessed at random (p 1/2): a's F1 is 0 without a
// hit; 1 with a hit and no false alarm; 2/3 with both: 1/4 + 1/4 * 2/3 = 5/12.
TEST(Baselines, ExpectedRandomF1ByHand) {
  EXPECT_NEAR(expected_random_f1(1, 2, 0.5), 5.0 / 12, 1e-12);
  EXPECT_NEAR(expected_random_f1(3, 3, 1.0), 1.0, 1e-12);  // one label: always right
}

// The uniform-random row's expected values equal the mean over every one of
// the k^n equally likely guesses of the items, scored by classification_report.
TEST(Baselines, UniformRandomRowIsTheMeanOverEveryGuess) {
  const Task task = labelled("test.jsonl", {"a", "a", "a", "b", "c", "b"});
  const size_t k = task.labels.size(), n = task.items.size();
  std::vector<std::string> references;
  for (const TaskItem& item : task.items) references.push_back(item.label);
  double accuracy = 0, macro = 0, micro = 0, count = 0;
  std::vector<size_t> guess(n, 0);
  for (bool more = true; more; count += 1) {
    std::vector<std::string> predicted;
    for (size_t g : guess) predicted.push_back(task.labels[g]);
    const ClassificationReport r = classification_report(predicted, references);
    accuracy += r.accuracy, macro += r.macro_f1, micro += r.micro_f1;
    more = false;
    for (size_t i = 0; i < n && !more; ++i) more = ++guess[i] < k || (guess[i] = 0, false);
  }
  ASSERT_EQ(count, std::pow(double(k), double(n)));
  EvalOptions options;
  options.resamples = 2000;
  const TrivialBaseline b = uniform_random_baseline(task, options);
  EXPECT_NEAR(metric(b.result, "accuracy").value, accuracy / count, 1e-12);
  EXPECT_NEAR(metric(b.result, "macro_f1").value, macro / count, 1e-12);
  EXPECT_NEAR(metric(b.result, "micro_f1").value, micro / count, 1e-12);
  // The interval is the spread of seeded random guessers' scores around the expectation.
  const Interval i = metric(b.result, "macro_f1").interval;
  EXPECT_LT(i.low, macro / count);
  EXPECT_GT(i.high, macro / count);
  EXPECT_EQ(uniform_random_baseline(task, options).result.metrics[1].interval.high, i.high);  // seeded
}

TaskResult scored(const std::string& model, double accuracy, double macro_f1) {
  TaskResult r;
  r.model = model;
  r.kind = TaskKind::Classification;
  for (const auto& [name, value] : {std::pair{"accuracy", accuracy}, {"macro_f1", macro_f1}, {"micro_f1", accuracy}})
    r.metrics.push_back(Metric{name, value, {value, value}, true});
  // Items for the paired tests between models, which the report also runs.
  r.references = {"a", "b", "c"};
  r.predictions = {"a", "a", "a"};
  r.per_item["accuracy"] = {1, 0, 0};
  return r;
}

// Majority accuracy 0.63 and uniform-random macro F1 0.33: a model at 0.42
// accuracy is flagged in the tables, in a warning line and in the JSON.
TEST(Report, FlagsModelsThatDoNotBeatTheTrivialBaselines) {
  const Task task = labelled("test.jsonl", {"a", "b", "c"});
  TaskRuns t{task, TaskRole::Task, {scored("base 8-shot", 0.42, 0.40), scored("tuned", 0.80, 0.75)}, {}};
  t.baselines = {TrivialBaseline{scored("majority class (always 'a')", 0.63, 0.26), "majority"},
                 TrivialBaseline{scored("uniform random (expected)", 0.33, 0.33), "random"}};
  EvalRun run;
  run.command = "whet eval";
  run.models = {"base 8-shot", "tuned"};
  run.tasks = {t};
  const std::vector<BelowBaseline> below = below_trivial_baselines(run);
  ASSERT_EQ(below.size(), 2u);  // accuracy and micro F1 below the majority class
  EXPECT_EQ(below[0].model, "base 8-shot");
  EXPECT_EQ(below[0].metric, "accuracy");
  EXPECT_EQ(below[0].baseline, "majority class (always 'a')");
  const std::vector<std::string> warnings = below_baseline_warnings(below);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("WARNING: base 8-shot does not beat a trivial baseline"), std::string::npos) << warnings[0];

  const std::string markdown = render_markdown(eval_document(run));
  EXPECT_NE(markdown.find(warnings[0]), std::string::npos);
  EXPECT_NE(markdown.find("NO ⚠"), std::string::npos);
  EXPECT_NE(markdown.find("uniform random (expected)"), std::string::npos);
  const nlohmann::json json = eval_json(run);
  const nlohmann::json& results = json.at("tasks")[0].at("results");
  EXPECT_FALSE(results[0].at("beats_trivial_baselines").get<bool>());
  EXPECT_TRUE(results[1].at("beats_trivial_baselines").get<bool>());
  EXPECT_EQ(json.at("tasks")[0].at("baselines").size(), 2u);
  EXPECT_DOUBLE_EQ(json.at("tasks")[0].at("baselines")[0].at("metrics").at("accuracy").at("value").get<double>(), 0.63);
  EXPECT_EQ(json.at("below_trivial_baselines").size(), 2u);
}

}  // namespace
}  // namespace whet
