#include "eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <set>

#include "core/error.h"

namespace whet {

namespace {

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::vector<std::string> normalized_tokens(std::string_view text) { return words(normalize_answer(text)); }

double harmonic_mean(double precision, double recall) {
  return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
}

// Both empty is a perfect match, one empty none (SQuAD's convention).
bool empty_case(const std::vector<std::string>& a, const std::vector<std::string>& b, double& score) {
  if (!a.empty() && !b.empty()) return false;
  score = a.empty() && b.empty() ? 1.0 : 0.0;
  return true;
}

double mean_of(const std::vector<double>& values, const std::vector<size_t>& picks) {
  double sum = 0;
  for (size_t i : picks) sum += values[i];
  return sum / double(picks.size());
}

// Calls visit(picks) for `resamples` draws of n indices with replacement.
template <typename Visit>
void for_each_resample(size_t n, int resamples, uint64_t seed, Visit visit) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<size_t> picks(n);
  for (int r = 0; r < resamples; ++r) {
    for (size_t& i : picks) i = pick(rng);
    visit(picks);
  }
}

}  // namespace

ClassificationReport classification_report(const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& reference) {
  WHET_ASSERT(predicted.size() == reference.size());
  ClassificationReport report;
  const std::set<std::string> reference_labels(reference.begin(), reference.end());
  report.labels.assign(reference_labels.begin(), reference_labels.end());
  const bool any_invalid = std::any_of(predicted.begin(), predicted.end(),
                                       [&](const std::string& p) { return !reference_labels.contains(p); });
  if (any_invalid) report.labels.push_back(kInvalidAnswer);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < report.labels.size(); ++i) index[report.labels[i]] = i;
  const auto column = [&](const std::string& p) {
    return reference_labels.contains(p) ? index[p] : report.labels.size() - 1;
  };
  report.confusion.assign(reference_labels.size(), std::vector<int64_t>(report.labels.size(), 0));
  for (size_t i = 0; i < reference.size(); ++i) ++report.confusion[index[reference[i]]][column(predicted[i])];

  // Averages run over the references' labels: an invalid answer is an error, not a class.
  int64_t correct = 0, predicted_in_set = 0;
  double f1_sum = 0;
  for (const std::string& label : reference_labels) {
    const size_t k = index[label];
    int64_t true_positive = report.confusion[k][k], predicted_k = 0, support = 0;
    for (const std::vector<int64_t>& row : report.confusion) predicted_k += row[k];
    for (int64_t n : report.confusion[k]) support += n;
    ClassScores s{label};
    s.precision = predicted_k == 0 ? 0 : double(true_positive) / double(predicted_k);
    s.recall = support == 0 ? 0 : double(true_positive) / double(support);
    s.f1 = harmonic_mean(s.precision, s.recall);
    s.support = support;
    report.per_class.push_back(s);
    correct += true_positive;
    predicted_in_set += predicted_k;
    f1_sum += s.f1;
  }
  const double n = double(reference.size());
  report.accuracy = n == 0 ? 0 : double(correct) / n;
  report.macro_f1 = reference_labels.empty() ? 0 : f1_sum / double(reference_labels.size());
  const double micro_precision = predicted_in_set == 0 ? 0 : double(correct) / double(predicted_in_set);
  report.micro_f1 = harmonic_mean(micro_precision, report.accuracy);
  return report;
}

std::string normalize_answer(std::string_view text) {
  std::string cleaned;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 128 && std::ispunct(u)) continue;
    cleaned += u < 128 ? char(std::tolower(u)) : c;
  }
  std::string out;
  for (const std::string& w : words(cleaned)) {
    if (w == "a" || w == "an" || w == "the") continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

bool exact_match(std::string_view prediction, std::string_view reference) {
  return normalize_answer(prediction) == normalize_answer(reference);
}

bool contains_answer(std::string_view prediction, std::string_view reference) {
  const std::string p = " " + normalize_answer(prediction) + " ", r = " " + normalize_answer(reference) + " ";
  return p.find(r) != std::string::npos;  // whole words only: "cat" is not in "category"
}

double token_f1(std::string_view prediction, std::string_view reference) {
  const auto p = normalized_tokens(prediction), r = normalized_tokens(reference);
  double score;
  if (empty_case(p, r, score)) return score;
  std::map<std::string, int64_t> counts;
  for (const std::string& w : r) ++counts[w];
  int64_t common = 0;
  for (const std::string& w : p)
    if (counts[w]-- > 0) ++common;
  return harmonic_mean(double(common) / double(p.size()), double(common) / double(r.size()));
}

double rouge_l(std::string_view prediction, std::string_view reference) {
  const auto p = normalized_tokens(prediction), r = normalized_tokens(reference);
  double score;
  if (empty_case(p, r, score)) return score;
  // lcs[j] for the prefix of p read so far against r's first j tokens.
  std::vector<int64_t> lcs(r.size() + 1, 0);
  for (const std::string& word : p) {
    int64_t diagonal = 0;
    for (size_t j = 1; j <= r.size(); ++j) {
      const int64_t above = lcs[j];
      lcs[j] = word == r[j - 1] ? diagonal + 1 : std::max(lcs[j], lcs[j - 1]);
      diagonal = above;
    }
  }
  const double common = double(lcs.back());
  return harmonic_mean(common / double(p.size()), common / double(r.size()));
}

Interval bootstrap_interval(size_t items, const Statistic& statistic, double level, int resamples,
                            uint64_t seed) {
  WHET_ASSERT(items > 0 && resamples > 0 && level > 0 && level < 1);
  std::vector<double> values;
  for_each_resample(items, resamples, seed, [&](const std::vector<size_t>& picks) { values.push_back(statistic(picks)); });
  return central_interval(values, level);
}

Interval central_interval(std::vector<double>& values, double level) {
  WHET_ASSERT(!values.empty());
  std::sort(values.begin(), values.end());
  const double size = double(values.size());
  const auto at = [&](double q) { return values[size_t(std::clamp(q * size, 0.0, size - 1))]; };
  return Interval{at((1 - level) / 2), at(1 - (1 - level) / 2)};
}

double paired_bootstrap_p_value(size_t items, const Statistic& a, const Statistic& b, int resamples, uint64_t seed) {
  WHET_ASSERT(items > 0 && resamples > 0);
  int64_t not_better = 0;
  for_each_resample(items, resamples, seed, [&](const std::vector<size_t>& picks) {
    if (a(picks) - b(picks) <= 0) ++not_better;
  });
  return double(not_better) / double(resamples);
}

Statistic mean_statistic(const std::vector<double>& scores) {
  return [&scores](const std::vector<size_t>& picks) { return mean_of(scores, picks); };
}

Interval bootstrap_mean_interval(const std::vector<double>& scores, double level, int resamples, uint64_t seed) {
  return bootstrap_interval(scores.size(), mean_statistic(scores), level, resamples, seed);
}

double paired_bootstrap_p_value(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                uint64_t seed) {
  WHET_ASSERT(a.size() == b.size());
  return paired_bootstrap_p_value(a.size(), mean_statistic(a), mean_statistic(b), resamples, seed);
}

}  // namespace whet
