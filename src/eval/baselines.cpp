#include "eval/baselines.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/error.h"

namespace whet {
namespace {

// P(X = x) for x in 0..n, X ~ Bin(n, p), through log-gamma so large n do not overflow.
std::vector<double> binomial_pmf(int64_t n, double p) {
  std::vector<double> pmf(size_t(n + 1), 0.0);
  if (p >= 1.0) {
    pmf.back() = 1.0;
    return pmf;
  }
  const double log_n = std::lgamma(double(n) + 1), log_p = std::log(p), log_q = std::log1p(-p);
  for (int64_t x = 0; x <= n; ++x)
    pmf[size_t(x)] = std::exp(log_n - std::lgamma(double(x) + 1) - std::lgamma(double(n - x) + 1) +
                              double(x) * log_p + double(n - x) * log_q);
  return pmf;
}

std::vector<std::string> references_of(const Task& task) {
  std::vector<std::string> out;
  for (const TaskItem& item : task.items) out.push_back(item.label);
  return out;
}

// Accuracy, macro and micro F1 of `resamples` uniform guessers, seeded, as metrics_of orders them.
std::vector<Interval> guessers_ranges(const Task& task, const EvalOptions& options) {
  const std::vector<std::string> references = references_of(task);
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick(0, task.labels.size() - 1);
  std::vector<double> accuracy, macro, micro;
  std::vector<std::string> guesses(references.size());
  for (int r = 0; r < options.resamples; ++r) {
    for (std::string& guess : guesses) guess = task.labels[pick(rng)];
    const ClassificationReport report = classification_report(guesses, references);
    accuracy.push_back(report.accuracy);
    macro.push_back(report.macro_f1);
    micro.push_back(report.micro_f1);
  }
  return {central_interval(accuracy, options.level), central_interval(macro, options.level),
          central_interval(micro, options.level)};
}

}  // namespace

std::string majority_label(const std::vector<TaskItem>& items) {
  std::map<std::string, int64_t> counts;
  for (const TaskItem& item : items) ++counts[item.label];
  WHET_ASSERT(!counts.empty());
  // max_element keeps the first of equal counts: in the map's order, the first label sorted.
  return std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; })
      ->first;
}

TrivialBaseline majority_baseline(const Task& task, const std::string& label, const std::string& basis,
                                  const EvalOptions& options) {
  WHET_ASSERT(task.kind == TaskKind::Classification);
  TrivialBaseline b;
  b.basis = basis;
  TaskResult& r = b.result;
  r.model = fmt::format("majority class (always '{}')", label);
  r.kind = task.kind;
  r.references = references_of(task);
  r.predictions.assign(task.items.size(), label);
  for (const std::string& reference : r.references) r.per_item["accuracy"].push_back(reference == label ? 1.0 : 0.0);
  r.classification = classification_report(r.predictions, r.references);
  compute_metrics(r, task.items.size(), options);
  return b;
}

double expected_random_f1(int64_t support, int64_t items, double p) {
  WHET_ASSERT(support > 0 && support <= items && p > 0 && p <= 1);
  const std::vector<double> true_positives = binomial_pmf(support, p), false_positives = binomial_pmf(items - support, p);
  double expected = 0;
  for (int64_t x = 1; x <= support; ++x)  // x = 0 scores 0
    for (int64_t y = 0; y <= items - support; ++y)
      expected += true_positives[size_t(x)] * false_positives[size_t(y)] * 2.0 * double(x) / double(support + x + y);
  return expected;
}

TrivialBaseline uniform_random_baseline(const Task& task, const EvalOptions& options) {
  WHET_ASSERT(task.kind == TaskKind::Classification && !task.labels.empty());
  const double k = double(task.labels.size());
  std::map<std::string, int64_t> support;
  for (const TaskItem& item : task.items) ++support[item.label];
  double macro_f1 = 0;
  for (const auto& [label, count] : support) macro_f1 += expected_random_f1(count, int64_t(task.items.size()), 1 / k);
  macro_f1 /= k;

  TrivialBaseline b;
  b.basis = fmt::format(
      "uniform random: one of the {} labels at random for each item. Values are exact expectations (accuracy and "
      "micro F1 1/{}; macro F1 from the binomial distributions of each label's hits and false alarms); the interval "
      "is the central {:.0f}% of the scores of {} seeded random guessers on these items",
      task.labels.size(), task.labels.size(), 100 * options.level, options.resamples);
  TaskResult& r = b.result;
  r.model = "uniform random (expected)";
  r.kind = task.kind;
  const std::vector<double> expected = {1 / k, macro_f1, 1 / k};
  const std::vector<Interval> ranges = guessers_ranges(task, options);
  const std::vector<MetricSpec> specs = metrics_of(task.kind);
  WHET_ASSERT(specs.size() == expected.size());
  for (size_t m = 0; m < specs.size(); ++m)
    r.metrics.push_back(Metric{specs[m].name, expected[m], ranges[m], specs[m].higher_is_better});
  return b;
}

std::vector<TrivialBaseline> trivial_baselines(const Task& task, const Task* training, const EvalOptions& options) {
  WHET_ASSERT(task.kind == TaskKind::Classification);
  std::string label = majority_label(task.items);
  std::string basis = fmt::format("majority class: always '{}', the most frequent label of the test items ({})", label,
                                  training ? "the --few-shot-from file gives no label of this task"
                                           : "no training file given with --few-shot-from");
  if (training && training->kind == TaskKind::Classification) {
    const std::string trained = majority_label(training->items);
    if (std::find(task.labels.begin(), task.labels.end(), trained) != task.labels.end()) {
      label = trained;
      basis = fmt::format("majority class: always '{}', the most frequent label of {}", label, training->path);
    }
  }
  basis += fmt::format("; {:.0f}% bootstrap intervals over items, as for the models", 100 * options.level);
  return {majority_baseline(task, label, basis, options), uniform_random_baseline(task, options)};
}

}  // namespace whet
