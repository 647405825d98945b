#pragma once
// TPE's density of a group of parameters given some trials' values of them
// (Bergstra et al. 2011, with Optuna's rules): a mixture with one kernel per
// observation plus a prior kernel, each kernel a product over the parameters.
//
// - A float or int kernel is a normal on the parameter's scale
//   (numeric_scale.h), truncated to it, centred on the observation; a stepped
//   one puts the mass of a cell on each value. Its width is the larger gap to
//   the neighbouring observations or ends of the scale, except the lowest and
//   highest observations, which look only inwards (consider_endpoints false),
//   clipped to [range / min(100, n + 2), range]. The prior kernel sits in the
//   middle with the width of the whole range.
// - A categorical kernel puts 1 + w/(n+1) on its observed choice and w/(n+1) on
//   each other, normalised (w the prior weight); the prior kernel is uniform.
// - The kernels weigh 1 each, except with more than 25 observations, where the
//   older ones (in trial order) ramp up linearly from 1/n; the prior weighs w.
#include <cstddef>
#include <random>
#include <span>
#include <vector>

#include "tune/search_space.h"

namespace whet::tune {

class ParzenEstimator {
 public:
  // `observations`: one row per trial in trial-number order, holding the
  // internal values of `parameters` in their order.
  ParzenEstimator(std::vector<const Parameter*> parameters, const std::vector<std::vector<double>>& observations,
                  double prior_weight);

  // A point drawn from the mixture: a kernel by weight, then each parameter from it.
  std::vector<double> sample(std::mt19937_64& rng) const;
  double log_pdf(std::span<const double> point) const;

 private:
  // One parameter's side of every kernel (the prior last).
  struct Numeric {
    std::vector<double> mu, sigma, log_mass;  // on the scale; log_mass: what the truncation keeps
  };
  struct Categorical {
    std::vector<std::vector<double>> probabilities;  // kernel × choice
  };
  struct Dimension {
    const Parameter* parameter;
    Numeric numeric;
    Categorical categorical;
  };

  double kernel_log_pdf(const Dimension& dimension, std::size_t kernel, double value) const;
  double sample_kernel(const Dimension& dimension, std::size_t kernel, std::mt19937_64& rng) const;

  std::vector<double> log_weights_;
  std::vector<Dimension> dimensions_;
};

// Optuna's default_weights: 1 each for up to 25 observations; beyond that the
// older ones ramp up from 1/n, the latest 25 keep 1.
std::vector<double> observation_weights(std::size_t n);

}  // namespace whet::tune
