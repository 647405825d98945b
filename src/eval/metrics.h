#pragma once
// Task metrics as pure functions of predictions and references, with the
// statistics that say how far to trust them. Definitions follow the usual
// ones: SQuAD's answer normalisation and token F1, ROUGE-L as the F-measure of
// the longest common subsequence of tokens, scikit-learn's per-class and
// averaged precision/recall/F1 (a class never predicted has precision 0).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

struct ClassScores {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // items whose reference is this label
};

// The one confusion-matrix column of every answer that is not a label.
inline constexpr const char* kInvalidAnswer = "(invalid)";

struct ClassificationReport {
  // The references' labels, sorted, then kInvalidAnswer if any prediction is
  // not one of them: the columns of `confusion`, whose rows are the labels alone.
  std::vector<std::string> labels;
  std::vector<std::vector<int64_t>> confusion;  // confusion[reference][predicted]
  std::vector<ClassScores> per_class;
  double accuracy = 0, macro_f1 = 0, micro_f1 = 0;
};

// predicted[i] and reference[i] are labels of item i; predictions outside the
// references' set (a model's invalid answers) count as wrong, all in the one
// kInvalidAnswer column.
ClassificationReport classification_report(const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& reference);

// Lower case, punctuation and the articles a/an/the removed, whitespace collapsed.
std::string normalize_answer(std::string_view text);
bool exact_match(std::string_view prediction, std::string_view reference);  // after normalisation
bool contains_answer(std::string_view prediction, std::string_view reference);  // likewise
// Harmonic mean of token precision and recall over the normalised tokens.
double token_f1(std::string_view prediction, std::string_view reference);
// F-measure (beta 1) of the longest common subsequence of normalised tokens.
double rouge_l(std::string_view prediction, std::string_view reference);

struct Interval {
  double low = 0, high = 0;
};
// A statistic of a sample of items given by index (drawn with replacement), e.g.
// the mean of per-item scores or the macro F1 of the picked items.
using Statistic = std::function<double(const std::vector<size_t>& items)>;
// The mean of scores[i] over the picked items; `scores` must outlive it.
Statistic mean_statistic(const std::vector<double>& scores);

// The central `level` of a sample of values (which it sorts): its percentiles (1 ± level) / 2.
Interval central_interval(std::vector<double>& values, double level);

// Percentile bootstrap interval of a statistic over `items` items (`level` e.g.
// 0.95), `resamples` resamples drawn with a fixed seed, so reports reproduce.
Interval bootstrap_interval(size_t items, const Statistic& statistic, double level, int resamples, uint64_t seed);
Interval bootstrap_mean_interval(const std::vector<double>& scores, double level, int resamples, uint64_t seed);
// Paired bootstrap test of "a exceeds b" on the same items: the fraction of
// resamples in which a − b ≤ 0 (a one-sided p-value).
double paired_bootstrap_p_value(size_t items, const Statistic& a, const Statistic& b, int resamples, uint64_t seed);
double paired_bootstrap_p_value(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                uint64_t seed);

}  // namespace whet
