#pragma once
// The trivial baselines of a classification task, which a model must beat to
// have learned anything: always answering the most frequent label, and
// answering uniformly at random. A model below them only looks like it works.
#include <cstdint>
#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace whet {

struct TrivialBaseline {
  TaskResult result;  // result.model names the row; its metrics are those of the task's kind
  std::string basis;  // how the row was made and what its intervals mean, for the report
};

// The most frequent label of `items`; of equally frequent ones, the first in sorted order.
std::string majority_label(const std::vector<TaskItem>& items);

// Always `label`, on every item of `task`: metrics and bootstrap intervals
// computed exactly as for a model, from its (constant) predictions.
TrivialBaseline majority_baseline(const Task& task, const std::string& label, const std::string& basis,
                                  const EvalOptions& options);

// Each item labelled with one of the task's k labels uniformly at random. The
// values are exact expectations: accuracy and micro F1 1/k, macro F1 the mean
// over labels of expected_random_f1. The interval is the central `level` of the
// scores of `resamples` seeded uniform guessers on these same items: how far a
// guesser's score strays by chance.
TrivialBaseline uniform_random_baseline(const Task& task, const EvalOptions& options);

// The expected F1 of one label with `support` of the `items` items when every
// item is given that label with probability p, independently: with X ~ Bin(support, p)
// true positives and Y ~ Bin(items - support, p) false positives, E[2X / (support + X + Y)].
double expected_random_f1(int64_t support, int64_t items, double p);

// Both baselines of a classification task. The majority label comes from
// `training` (the file few-shot examples are drawn from) when it is given, is a
// classification file and its majority label is one of the task's; else from
// the task's own items, and the basis says which.
std::vector<TrivialBaseline> trivial_baselines(const Task& task, const Task* training, const EvalOptions& options);

}  // namespace whet
