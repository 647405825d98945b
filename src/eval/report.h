#pragma once
// The evaluation report: every model on every task side by side, with
// intervals, paired tests against the first model (the baseline), confusion
// matrices, the forgetting check and the bias audit. One set of results is
// rendered as JSON for machines and as Markdown and self-contained HTML for
// people, so the three cannot disagree.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/document.h"
#include "eval/baselines.h"
#include "eval/evaluate.h"

namespace whet {

// What a task is there for: the user's own, or one of the built-in checks.
enum class TaskRole { Task, Forgetting, Bias };

struct TaskRuns {
  Task task;
  TaskRole role = TaskRole::Task;
  std::vector<TaskResult> results;  // one per model, in the run's model order
  std::vector<TrivialBaseline> baselines;  // classification tasks: majority class and uniform random
};

// A model is flagged as forgetting when, against the baseline, general-text
// perplexity rises by more than `perplexity_rise` (relative) or general
// question accuracy falls by more than `accuracy_drop` (absolute).
struct ForgettingThresholds {
  double perplexity_rise = 0.10;
  double accuracy_drop = 0.05;
};

struct EvalRun {
  std::string command;              // the command line that reproduces every number
  std::vector<std::string> models;  // display names; the first is the baseline
  std::vector<TaskRuns> tasks;
  // Rows of classification heads: (row, the language model under the head), for the forgetting section.
  std::vector<std::pair<std::string, std::string>> heads;
  int few_shot = 0;           // K of the few-shot row, if any (each result records its own shots)
  std::string few_shot_from;  // the file its examples were drawn from
  EvalOptions options;
  ForgettingThresholds thresholds;
};

// One row per model whose general ability fell beyond the thresholds (empty: none).
struct Regression {
  std::string model, task, metric;
  double baseline = 0, value = 0;
};
std::vector<Regression> forgetting_regressions(const EvalRun& run);

// A model that does not beat the best trivial baseline of a task on a metric:
// its value is not above (for perplexity-like metrics, below) the best baseline's.
struct BelowBaseline {
  std::string model, task, metric, baseline;
  double value = 0, baseline_value = 0;
};
std::vector<BelowBaseline> below_trivial_baselines(const EvalRun& run);
// The warning lines the report and the command print: one per model and task.
std::vector<std::string> below_baseline_warnings(const std::vector<BelowBaseline>& below);

nlohmann::json eval_json(const EvalRun& run);
Document eval_document(const EvalRun& run);

}  // namespace whet
