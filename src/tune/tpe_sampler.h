#pragma once
// The Tree-structured Parzen Estimator (Bergstra et al. 2011) with Optuna's
// TPESampler as the reference. Until n_startup_trials trials are complete or
// pruned it samples at random; then, for each group of parameters:
//
//  1. the finished trials split into the γ(n) = min(⌈0.1·n⌉, 25) best ("below")
//     and the rest ("above"): complete trials by value first, then pruned ones,
//     the one that reached the later step first and at equal steps by its last
//     intermediate value (Optuna's order); running trials join the above
//     (Optuna's constant liar, so that parallel trials spread out);
//  2. l(x) is the Parzen estimator (parzen_estimator.h) of the below trials'
//     values, g(x) that of the above trials', each from the trials where
//     every parameter of the group was active (and had the same distribution);
//  3. n_ei_candidates points drawn from l(x); the one with the largest
//     l(x)/g(x) is taken.
//
// Groups: parameters under the same `when` (multivariate, Optuna's default
// multivariate TPE with group decomposition), or each parameter alone
// (univariate). Groups are sampled in the space's order, so a condition is
// decided before what it conditions.
#include <cstdint>

#include "tune/random_sampler.h"
#include "tune/sampler.h"

namespace whet::tune {

class TpeSampler final : public Sampler {
 public:
  TpeSampler(uint64_t seed, const TpeOptions& options);
  std::map<std::string, double> sample(const SearchSpace& space, std::span<const Trial> history, Direction direction,
                                       int64_t number) const override;
  std::optional<std::size_t> size(const SearchSpace&) const override { return std::nullopt; }

 private:
  uint64_t seed_;
  TpeOptions options_;
  RandomSampler random_;
};

// Optuna's split of the finished (complete and pruned) and running trials into
// the n_below best and the rest, each in trial-number order.
struct TrialSplit {
  std::vector<const Trial*> below, above;
};
TrialSplit split_trials(std::span<const Trial> history, Direction direction, std::size_t n_below);

// γ(n) = min(⌈0.1·n⌉, 25), Optuna's default_gamma.
std::size_t default_gamma(std::size_t finished);

}  // namespace whet::tune
