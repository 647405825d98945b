#include "tune/truncated_normal.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace whet::tune {
namespace {

const double kLogSqrtTwoPi = 0.5 * std::log(2 * std::numbers::pi);

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

// log(e^p − e^q) for p > q.
double log_difference(double p, double q) { return p + std::log1p(-std::exp(q - p)); }

// Far in the lower tail erfc underflows; there log Φ(x) = log φ(x) − log(−x) +
// log(1 − 1/x² + 3/x⁴ − 15/x⁶ + ...), the asymptotic series summed while its
// terms still shrink.
double log_normal_cdf_far_left(double x) {
  const double inverse_square = 1 / (x * x);
  double sum = 1, term = 1;
  for (int k = 1; k < 20; ++k) {
    const double next = -term * (2 * k - 1) * inverse_square;
    if (std::abs(next) >= std::abs(term) || std::abs(next) < 1e-17) break;
    term = next;
    sum += term;
  }
  return normal_log_density(x) - std::log(-x) + std::log(sum);
}

}  // namespace

double log_normal_cdf(double x) {
  if (x > 6) return std::log1p(-normal_cdf(-x));  // Φ(x) near 1: its complement is exact
  if (x > -20) return std::log(normal_cdf(x));
  return log_normal_cdf_far_left(x);
}

double log_normal_mass(double a, double b) {
  WHET_ASSERT(a < b);
  if (b <= 0) return log_difference(log_normal_cdf(b), log_normal_cdf(a));
  if (a > 0) return log_normal_mass(-b, -a);  // the upper tail, mirrored
  return std::log1p(-normal_cdf(a) - normal_cdf(-b));
}

double normal_log_density(double z) { return -0.5 * z * z - kLogSqrtTwoPi; }

// Bisection on the log mass below x: each step halves the interval, so about
// 64 of them reach the precision of a double wherever [a, b] lies.
double truncated_normal_quantile(double u, double a, double b) {
  WHET_ASSERT(u >= 0 && u < 1);
  if (u == 0) return a;
  const double target = std::log(u) + log_normal_mass(a, b);
  double low = a, high = b;
  for (int i = 0; i < 200; ++i) {
    const double middle = 0.5 * (low + high);
    if (middle <= low || middle >= high) break;
    (log_normal_mass(a, middle) < target ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

}  // namespace whet::tune
