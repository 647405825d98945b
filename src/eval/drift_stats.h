#pragma once
// How far production prompts have drifted from the prompts a model was trained
// on, as pure functions of counts: the population stability index (PSI) of a
// binned quantity, the Jensen–Shannon divergence of two distributions, the
// prompt-length bins both are taken over, the token buckets of a unigram
// distribution, and a sample's quantile. The server's monitor
// (serve/drift_monitor.h) keeps the counts; docs/serve.md, "Monitoring and
// drift", states the definitions for users.
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace whet {

// Prompt lengths in tokens fall into octaves: bin k holds [2^k, 2^(k+1)) for
// k < kPromptLengthBins - 1 (bin 0 is length 1), the last bin 2^14 tokens and more.
inline constexpr int kPromptLengthBins = 15;
int prompt_length_bin(int64_t tokens);  // tokens >= 1
std::string prompt_length_bin_name(int bin);  // "[64, 128)", "[16384, inf)"

// The proportion an empty bin is taken to hold, so that PSI stays finite.
inline constexpr double kPsiEpsilon = 1e-4;

// PSI = Σ_i (a_i − e_i) · ln(a_i / e_i) over the bins, where e and a are the
// proportions of `expected` (the reference) and `actual` (the window) counts,
// each floored at `epsilon`. 0 for equal distributions; by the usual rule of
// thumb below 0.1 is stable, 0.1–0.25 a moderate shift, above 0.25 a large one.
// NaN when either side counts nothing. The spans have the same size.
double population_stability_index(std::span<const double> expected, std::span<const double> actual,
                                  double epsilon = kPsiEpsilon);

// JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = (P + Q) / 2, in bits (log base 2),
// of the proportions of two count vectors of the same size: 0 for identical
// distributions, 1 for disjoint ones, and symmetric. 0 · log 0 counts as 0.
// NaN when either side counts nothing.
double jensen_shannon_divergence(std::span<const double> p, std::span<const double> q);

// The `k` most frequent token ids of `counts`, most frequent first (ties: the
// smaller id first), so a unigram distribution becomes k buckets and "other".
std::vector<int32_t> most_frequent_tokens(const std::unordered_map<int32_t, int64_t>& counts, size_t k);

// `counts` gathered into buckets: bucket i counts top[i], the last bucket
// (index top.size()) every other token.
std::vector<double> token_bucket_counts(const std::unordered_map<int32_t, int64_t>& counts,
                                        std::span<const int32_t> top);

// The q-quantile (q in [0, 1]) of a non-empty sample, interpolated linearly
// between order statistics (numpy's default): position q · (n − 1).
double quantile(std::vector<double> values, double q);

}  // namespace whet
