#pragma once
// One model on one task: per-item scores, the task's metrics with bootstrap
// intervals, and what the model answered. Per-item scores are kept so that two
// models evaluated on the same items can be compared by a paired test.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/task.h"
#include "models/model_loader.h"
#include "models/sequence_classifier.h"

namespace whet {

// Called after each item with (done, total).
using EvalProgress = std::function<void(int64_t, int64_t)>;

struct EvalOptions {
  std::vector<TaskItem> shots;        // few-shot examples placed before every item (same kind as the task)
  bool classify_by_generation = false;  // classification: generate and match the normalised answer to a label
  const SequenceClassifier* classifier = nullptr;  // classification: a trained head decides (not owned)
  int max_new_tokens = 64;              // generation
  int resamples = 1000;                 // bootstrap
  double level = 0.95;
  uint64_t seed = 1234;
};

struct Metric {
  std::string name;
  double value = 0;
  Interval interval;
  bool higher_is_better = true;
};

// One counterfactual dimension (e.g. gender): the groups' mean sentence
// log-likelihood and the mean absolute gap between a sentence's variants.
struct GroupGap {
  std::string dimension;
  std::vector<std::pair<std::string, double>> group_mean_logprob;
  double mean_abs_gap = 0;
  int64_t items = 0;
};

struct TaskResult {
  std::string model;  // the name the report shows
  TaskKind kind = TaskKind::Perplexity;
  std::vector<Metric> metrics;  // the first is the task's headline
  // Per-item scores by metric name (perplexity keeps "nll" and "tokens"); the
  // inputs of intervals and paired tests.
  std::map<std::string, std::vector<double>> per_item;
  std::vector<std::string> references;   // Classification: per item, the right label
  std::vector<std::string> predictions;  // per item: the label, choice or generated text
  std::optional<ClassificationReport> classification;
  std::vector<GroupGap> gaps;  // Counterfactual
  std::vector<TaskItem> shots;  // the few-shot examples placed before every item (EvalOptions::shots)
  double seconds = 0;
};

TaskResult evaluate_task(const LoadedModel& model, const std::string& model_name, const Task& task,
                         const EvalOptions& options, const EvalProgress& progress = {});

struct MetricSpec {
  const char* name;
  bool higher_is_better;
};
// The metrics of a kind of task, the headline first.
std::vector<MetricSpec> metrics_of(TaskKind kind);

// The statistic behind a metric of a result, over a sample of its items; for
// intervals and for paired tests between models on the same task.
Statistic metric_statistic(const TaskResult& result, const std::string& metric);

// Fills result.metrics, the metrics of its kind each with its bootstrap
// interval, from what the result holds of its `items` items (per-item scores,
// predictions and references).
void compute_metrics(TaskResult& result, size_t items, const EvalOptions& options);

// One-sided paired bootstrap p-value of "a is better than b" on `metric`.
double paired_p_value(const TaskResult& a, const TaskResult& b, const std::string& metric, const EvalOptions& options);

// The longest sequence scored or generated in one piece: the model's context,
// capped where the key/value cache would grow past what evaluation needs.
int64_t scoring_context(const LoadedModel& model);

// The tokens of an item's prompt as training tokenizes it (chat template up to
// the assistant's reply, or [BOS] and the raw prompt).
std::vector<int32_t> prompt_tokens(const LoadedModel& model, const TaskItem& item);

// Per item, the log-likelihood of each choice after its prompt (the labels for
// classification, else the item's own choices), with `shots` before every item.
// Labels are scored with the end-of-answer token, so that a label which begins
// another is not favoured.
std::vector<std::vector<double>> choice_loglikelihoods(const LoadedModel& model, const std::vector<TaskItem>& items,
                                                       TaskKind kind, const std::vector<std::string>& labels,
                                                       const std::vector<TaskItem>& shots = {},
                                                       const EvalProgress& progress = {});

// Label probabilities of a classification head for each item's prompt, with
// the model's adapter if it has one.
std::vector<ClassifierHeadResult> classify_items(const LoadedModel& model, const SequenceClassifier& head,
                                                 const std::vector<TaskItem>& items, const EvalProgress& progress = {});

// `count` items drawn without replacement with `seed`, in the order drawn.
std::vector<TaskItem> draw_shots(const Task& source, int count, uint64_t seed);

}  // namespace whet
