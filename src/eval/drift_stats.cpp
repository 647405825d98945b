#include "eval/drift_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"

namespace whet {
namespace {

double total(std::span<const double> counts) { return std::accumulate(counts.begin(), counts.end(), 0.0); }

}  // namespace

int prompt_length_bin(int64_t tokens) {
  WHET_ASSERT(tokens >= 1);
  return std::min(int(std::bit_width(uint64_t(tokens))) - 1, kPromptLengthBins - 1);
}

std::string prompt_length_bin_name(int bin) {
  WHET_ASSERT(bin >= 0 && bin < kPromptLengthBins);
  if (bin == kPromptLengthBins - 1) return fmt::format("[{}, inf)", int64_t(1) << bin);
  return fmt::format("[{}, {})", int64_t(1) << bin, int64_t(1) << (bin + 1));
}

double population_stability_index(std::span<const double> expected, std::span<const double> actual, double epsilon) {
  WHET_ASSERT(expected.size() == actual.size() && epsilon > 0);
  const double e_total = total(expected), a_total = total(actual);
  if (e_total <= 0 || a_total <= 0) return NAN;
  double psi = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = std::max(expected[i] / e_total, epsilon), a = std::max(actual[i] / a_total, epsilon);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

double jensen_shannon_divergence(std::span<const double> p, std::span<const double> q) {
  WHET_ASSERT(p.size() == q.size());
  const double p_total = total(p), q_total = total(q);
  if (p_total <= 0 || q_total <= 0) return NAN;
  // Each side's term p·log2(p/m) where p > 0; m > 0 wherever p or q is.
  double js = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double pi = p[i] / p_total, qi = q[i] / q_total, m = (pi + qi) / 2;
    if (pi > 0) js += 0.5 * pi * std::log2(pi / m);
    if (qi > 0) js += 0.5 * qi * std::log2(qi / m);
  }
  return std::clamp(js, 0.0, 1.0);  // rounding can leave it a hair outside
}

std::vector<int32_t> most_frequent_tokens(const std::unordered_map<int32_t, int64_t>& counts, size_t k) {
  std::vector<std::pair<int64_t, int32_t>> ranked;
  ranked.reserve(counts.size());
  for (const auto& [id, count] : counts)
    if (count > 0) ranked.emplace_back(-count, id);
  const size_t kept = std::min(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + ptrdiff_t(kept), ranked.end());
  std::vector<int32_t> top;
  for (size_t i = 0; i < kept; ++i) top.push_back(ranked[i].second);
  return top;
}

std::vector<double> token_bucket_counts(const std::unordered_map<int32_t, int64_t>& counts,
                                        std::span<const int32_t> top) {
  std::unordered_map<int32_t, size_t> bucket;
  for (size_t i = 0; i < top.size(); ++i) bucket.emplace(top[i], i);
  std::vector<double> out(top.size() + 1, 0.0);
  for (const auto& [id, count] : counts) {
    const auto found = bucket.find(id);
    out[found == bucket.end() ? top.size() : found->second] += double(count);
  }
  return out;
}

double quantile(std::vector<double> values, double q) {
  WHET_ASSERT(!values.empty() && q >= 0 && q <= 1);
  std::sort(values.begin(), values.end());
  const double position = q * double(values.size() - 1);
  const size_t below = size_t(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - double(below)) * (values[above] - values[below]);
}

}  // namespace whet
