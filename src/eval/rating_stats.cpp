#include "eval/rating_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet {

namespace {

// The first model's points and the judgments that decide between the two.
double points(const PairJudgments& j) { return double(j.first) + 0.5 * double(j.ties); }
int64_t decided(const PairJudgments& j) { return j.first + j.second + j.ties; }

// Models reachable from `from` along "beat" edges (forward: i beat j) or against them.
std::vector<bool> reachable(const std::vector<std::vector<double>>& wins, size_t from, bool forward) {
  std::vector<bool> seen(wins.size(), false);
  std::vector<size_t> stack = {from};
  seen[from] = true;
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    for (size_t j = 0; j < wins.size(); ++j)
      if (!seen[j] && (forward ? wins[i][j] : wins[j][i]) > 0) {
        seen[j] = true;
        stack.push_back(j);
      }
  }
  return seen;
}

// Hunter's assumption 1 is that the "beat" graph is strongly connected; "" when it
// is, else the plainest reason it is not.
std::string missing_condition(const std::vector<std::string>& names, const std::vector<std::vector<double>>& wins) {
  const size_t n = wins.size();
  std::vector<double> won(n, 0), lost(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) won[i] += wins[i][j], lost[i] += wins[j][i];
  for (size_t i = 0; i < n; ++i)
    if (won[i] + lost[i] == 0) return fmt::format("'{}' has no comparisons", names[i]);
  for (size_t i = 0; i < n; ++i)
    if (won[i] == 0) return fmt::format("'{}' never won (nor tied) a comparison, so its strength would be 0", names[i]);
  for (size_t i = 0; i < n; ++i)
    if (lost[i] == 0)
      return fmt::format("'{}' never lost (nor tied) a comparison, so its strength would be infinite", names[i]);
  const std::vector<bool> ahead = reachable(wins, 0, true), behind = reachable(wins, 0, false);
  for (size_t i = 0; i < n; ++i)
    if (!ahead[i] || !behind[i])
      return fmt::format("the models split into groups one of which never beat the other ('{}' and '{}'), so "
                         "their relative strengths are unbounded",
                         names[0], names[i]);
  return "";
}

}  // namespace

WinRate win_rate(const std::vector<PairJudgments>& items, double level, int resamples, uint64_t seed) {
  WinRate out;
  std::vector<PairJudgments> used;  // the items a resample draws from: each decides something
  for (const PairJudgments& j : items) {
    out.first += j.first, out.second += j.second, out.ties += j.ties, out.both_bad += j.both_bad;
    if (decided(j) > 0) used.push_back(j);
  }
  out.items = int64_t(used.size());
  if (used.empty()) return out;
  const Statistic rate = [&used](const std::vector<size_t>& picks) {
    double won = 0, total = 0;
    for (size_t i : picks) won += points(used[i]), total += double(decided(used[i]));
    return won / total;  // every used item decides at least one judgment, so total > 0
  };
  std::vector<size_t> all(used.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  out.rate = rate(all);
  out.interval = bootstrap_interval(used.size(), rate, level, resamples, seed);
  return out;
}

BradleyTerry bradley_terry(const std::vector<std::string>& names, const std::vector<std::vector<double>>& wins,
                           double tolerance, int max_iterations) {
  const size_t n = wins.size();
  WHET_ASSERT(n >= 2 && names.size() == n);
  BradleyTerry out;
  out.comparisons.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    WHET_ASSERT(wins[i].size() == n);
    for (size_t j = 0; j < n; ++j)
      if (j != i) out.comparisons[i] += wins[i][j] + wins[j][i];
  }
  out.problem = missing_condition(names, wins);
  if (!out.problem.empty()) return out;

  std::vector<double> log_p(n, 0.0), next(n);
  for (out.iterations = 1; out.iterations <= max_iterations; ++out.iterations) {
    for (size_t i = 0; i < n; ++i) {
      double won = 0, denominator = 0;
      for (size_t j = 0; j < n; ++j) {
        if (j == i) continue;
        won += wins[i][j];
        denominator += (wins[i][j] + wins[j][i]) / (std::exp(log_p[i]) + std::exp(log_p[j]));
      }
      next[i] = std::log(won / denominator);
    }
    // The likelihood depends only on ratios: centring the logs (geometric mean 1) changes nothing else.
    double mean = 0;
    for (double v : next) mean += v / double(n);
    double moved = 0;
    for (size_t i = 0; i < n; ++i) {
      moved = std::max(moved, std::abs(next[i] - mean - log_p[i]));
      log_p[i] = next[i] - mean;
    }
    if (moved <= tolerance) break;
  }
  out.iterations = std::min(out.iterations, max_iterations);
  out.log_scores = log_p;
  for (double v : log_p) out.scores.push_back(std::exp(v));
  return out;
}

Kappa cohen_kappa(const std::vector<std::vector<int64_t>>& table) {
  const size_t k = table.size();
  Kappa out;
  std::vector<double> rows(k, 0), columns(k, 0);
  double agree = 0;
  for (size_t i = 0; i < k; ++i) {
    WHET_ASSERT(table[i].size() == k);
    for (size_t j = 0; j < k; ++j) {
      out.items += table[i][j];
      rows[i] += double(table[i][j]);
      columns[j] += double(table[i][j]);
    }
    agree += double(table[i][i]);
  }
  if (out.items == 0) return out;
  const double total = double(out.items);
  out.observed = agree / total;
  for (size_t i = 0; i < k; ++i) out.expected += (rows[i] / total) * (columns[i] / total);
  if (out.expected < 1) out.kappa = (out.observed - out.expected) / (1 - out.expected);
  return out;
}

}  // namespace whet
