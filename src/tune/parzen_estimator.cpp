#include "tune/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "prepare/random.h"
#include "tune/numeric_scale.h"
#include "tune/truncated_normal.h"

namespace whet::tune {
namespace {

// Each observation's width: the larger gap to its neighbours on the scale (the
// ends of the scale count as neighbours), the outermost ones only inwards.
std::vector<double> neighbour_widths(const std::vector<double>& mu, Scale scale) {
  const std::size_t n = mu.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return mu[i] < mu[j]; });
  std::vector<double> sigma(n);
  for (std::size_t r = 0; r < n; ++r) {
    const double here = mu[order[r]];
    const double left = here - (r == 0 ? scale.low : mu[order[r - 1]]);
    const double right = (r + 1 == n ? scale.high : mu[order[r + 1]]) - here;
    double width = std::max(left, right);
    if (n >= 2 && r == 0) width = right;
    if (n >= 2 && r + 1 == n) width = left;
    sigma[order[r]] = width;
  }
  return sigma;
}

double log_sum_exp(std::span<const double> terms) {
  const double top = *std::max_element(terms.begin(), terms.end());
  if (std::isinf(top)) return top;
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum);
}

// The index of the first cumulative share above u.
std::size_t pick(std::span<const double> shares, double u) {
  double cumulative = 0;
  for (std::size_t i = 0; i + 1 < shares.size(); ++i) {
    cumulative += shares[i];
    if (u < cumulative) return i;
  }
  return shares.size() - 1;
}

}  // namespace

std::vector<double> observation_weights(std::size_t n) {
  constexpr std::size_t kFlat = 25;
  std::vector<double> weights(n, 1.0);
  if (n <= kFlat) return weights;
  const std::size_t ramp = n - kFlat;  // linspace(1/n, 1, ramp)
  for (std::size_t i = 0; i < ramp; ++i) {
    const double t = ramp == 1 ? 0.0 : double(i) / double(ramp - 1);
    weights[i] = 1.0 / double(n) + t * (1.0 - 1.0 / double(n));
  }
  return weights;
}

ParzenEstimator::ParzenEstimator(std::vector<const Parameter*> parameters,
                                 const std::vector<std::vector<double>>& observations, double prior_weight) {
  WHET_ASSERT(prior_weight > 0);
  const std::size_t n = observations.size();
  std::vector<double> weights = observation_weights(n);
  weights.push_back(n == 0 ? 1.0 : prior_weight);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (double w : weights) log_weights_.push_back(std::log(w / total));

  for (std::size_t column = 0; column < parameters.size(); ++column) {
    const Distribution& d = parameters[column]->distribution;
    Dimension dimension{parameters[column], {}, {}};
    if (d.kind == Distribution::Kind::Categorical) {
      const std::size_t k = d.choices.size();
      for (const std::vector<double>& row : observations) {
        std::vector<double> p(k, prior_weight / double(n + 1));
        p[static_cast<std::size_t>(row[column])] += 1;
        const double sum = std::accumulate(p.begin(), p.end(), 0.0);
        for (double& x : p) x /= sum;
        dimension.categorical.probabilities.push_back(std::move(p));
      }
      dimension.categorical.probabilities.emplace_back(k, 1.0 / double(k));
    } else {
      const Scale scale = scale_of(d);
      const double range = scale.high - scale.low;
      Numeric& kernels = dimension.numeric;
      for (const std::vector<double>& row : observations) kernels.mu.push_back(to_scale(d, row[column]));
      kernels.sigma = neighbour_widths(kernels.mu, scale);
      const double min_sigma = range / std::min(100.0, double(n + 2));  // Optuna's "magic clip"
      for (double& s : kernels.sigma) s = std::clamp(s, min_sigma, range);
      kernels.mu.push_back(0.5 * (scale.low + scale.high));
      kernels.sigma.push_back(range);
      for (std::size_t i = 0; i <= n; ++i) {
        const double mu = kernels.mu[i], sigma = kernels.sigma[i];
        kernels.log_mass.push_back(log_normal_mass((scale.low - mu) / sigma, (scale.high - mu) / sigma));
      }
    }
    dimensions_.push_back(std::move(dimension));
  }
}

double ParzenEstimator::sample_kernel(const Dimension& dimension, std::size_t kernel, std::mt19937_64& rng) const {
  const Distribution& d = dimension.parameter->distribution;
  if (d.kind == Distribution::Kind::Categorical) {
    return double(pick(dimension.categorical.probabilities[kernel], unit_random(rng)));
  }
  const Scale scale = scale_of(d);
  const double mu = dimension.numeric.mu[kernel], sigma = dimension.numeric.sigma[kernel];
  const double z = truncated_normal_quantile(unit_random(rng), (scale.low - mu) / sigma, (scale.high - mu) / sigma);
  return from_scale(d, mu + sigma * z);
}

double ParzenEstimator::kernel_log_pdf(const Dimension& dimension, std::size_t kernel, double value) const {
  const Distribution& d = dimension.parameter->distribution;
  if (d.kind == Distribution::Kind::Categorical) {
    return std::log(dimension.categorical.probabilities[kernel][static_cast<std::size_t>(value)]);
  }
  const double mu = dimension.numeric.mu[kernel], sigma = dimension.numeric.sigma[kernel];
  const double log_mass = dimension.numeric.log_mass[kernel];
  if (d.step > 0) {  // the mass of the value's cell
    const auto [low, high] = cell(d, value);
    return log_normal_mass((low - mu) / sigma, (high - mu) / sigma) - log_mass;
  }
  const double z = (to_scale(d, value) - mu) / sigma;
  return normal_log_density(z) - std::log(sigma) - log_mass;
}

std::vector<double> ParzenEstimator::sample(std::mt19937_64& rng) const {
  std::vector<double> shares(log_weights_.size());
  for (std::size_t k = 0; k < shares.size(); ++k) shares[k] = std::exp(log_weights_[k]);
  const std::size_t kernel = pick(shares, unit_random(rng));
  std::vector<double> point;
  for (const Dimension& dimension : dimensions_) point.push_back(sample_kernel(dimension, kernel, rng));
  return point;
}

double ParzenEstimator::log_pdf(std::span<const double> point) const {
  WHET_ASSERT(point.size() == dimensions_.size());
  std::vector<double> terms = log_weights_;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    for (std::size_t i = 0; i < dimensions_.size(); ++i) terms[k] += kernel_log_pdf(dimensions_[i], k, point[i]);
  }
  return log_sum_exp(terms);
}

}  // namespace whet::tune
