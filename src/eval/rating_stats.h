#pragma once
// The statistics of a human evaluation (blind side-by-side ratings of models'
// answers), as pure functions of counts: how often one model beats another with
// a bootstrap interval, Bradley–Terry strengths across several models, and how
// far raters agree (Cohen's κ). The server's sessions (serve/human_eval*) feed them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace whet {

// The judgments of one item (one prompt's answers from a pair of models) by its
// raters, in the pair's terms: the pair's first model better, its second, a tie,
// or both answers bad.
struct PairJudgments {
  int64_t first = 0, second = 0, ties = 0, both_bad = 0;
};

struct WinRate {
  int64_t items = 0;  // items with at least one judgment other than both_bad: what the bootstrap resamples
  int64_t first = 0, second = 0, ties = 0, both_bad = 0;  // summed over all items
  // (first + ties / 2) / (first + second + ties): the first model's share, ties counting half to each
  // side and both_bad left out (reported as its own count). Absent without such judgments.
  std::optional<double> rate;
  std::optional<Interval> interval;  // percentile bootstrap over items, absent with `rate`
};

// The first model's win rate over the second, with a `level` (e.g. 0.95)
// percentile bootstrap interval from `resamples` resamples of the items drawn
// with `seed`: the same judgments and seed give the same interval.
WinRate win_rate(const std::vector<PairJudgments>& items, double level, int resamples, uint64_t seed);

struct BradleyTerry {
  // Strengths p_i, in the model P(i beats j) = p_i / (p_i + p_j), normalised so
  // that their geometric mean is 1 (log-strengths sum to 0). Empty when the
  // maximum-likelihood strengths do not exist (see `problem`).
  std::vector<double> scores;
  std::vector<double> log_scores;
  std::vector<double> comparisons;  // per model: the comparisons it took part in (ties included)
  int iterations = 0;
  std::string problem;  // why there are no scores, e.g. a model that never won; "" when there are
};

// Bradley–Terry strengths from wins[i][j], the times model i beat model j (a
// tie adds 1/2 to both wins[i][j] and wins[j][i]), by the MM algorithm of
// Hunter (2004): p_i ← W_i / Σ_j n_ij / (p_i + p_j), iterated until no
// log-strength moves more than `tolerance`. The strengths exist and are unique
// when every split of the models into two groups has a model of each group
// beating one of the other (Hunter's assumption 1); otherwise `problem` says,
// by `names`, which model never won or never lost.
BradleyTerry bradley_terry(const std::vector<std::string>& names, const std::vector<std::vector<double>>& wins,
                           double tolerance = 1e-12, int max_iterations = 100000);

struct Kappa {
  int64_t items = 0;           // items both raters rated
  double observed = 0;         // p_o: share of items on which they agree
  double expected = 0;         // p_e: agreement expected by chance from each rater's category shares
  std::optional<double> kappa; // (p_o − p_e) / (1 − p_e); absent when p_e is 1 (both always gave one same category)
};

// Cohen's κ from table[i][j]: the items rater 1 put in category i and rater 2 in category j.
Kappa cohen_kappa(const std::vector<std::vector<int64_t>>& table);

}  // namespace whet
