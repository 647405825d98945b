#include "kernels/distill.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/row_max.h"

namespace whet {

namespace {

// log Σ_v exp(row[v] / T), computed around the row's maximum.
double log_sum_exp(const float* row, int64_t vocab, double inv_t) {
  const double top = double(max_of(row, 0, vocab)) * inv_t;
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) * inv_t - top);
  return top + std::log(sum);
}

}  // namespace

double distill_rows(float* grad, const float* student, const float* teacher, int64_t rows, int64_t vocab,
                    float temperature, float grad_scale) {
  const double inv_t = 1.0 / double(temperature), t2 = double(temperature) * temperature;
  const double scale = double(grad_scale) * temperature;
  double loss = 0.0;
#pragma omp parallel for reduction(+ : loss) schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const float* s = student + i * vocab;
    const float* t = teacher + i * vocab;
    const double lse_s = log_sum_exp(s, vocab, inv_t), lse_t = log_sum_exp(t, vocab, inv_t);
    double kl = 0.0;
    float* g = grad ? grad + i * vocab : nullptr;
    for (int64_t v = 0; v < vocab; ++v) {
      const double log_pt = double(t[v]) * inv_t - lse_t, log_ps = double(s[v]) * inv_t - lse_s;
      const double pt = std::exp(log_pt);
      kl += pt * (log_pt - log_ps);
      if (g) g[v] = float(scale * (std::exp(log_ps) - pt));  // reads t[v] before writing g[v]: in place is safe
    }
    loss += t2 * kl;
  }
  return loss;
}

double distill_row_reference(double* grad, const double* student, const double* teacher, int64_t vocab,
                             double temperature) {
  auto softmax = [&](const double* z) {
    std::vector<double> p(static_cast<size_t>(vocab));
    double sum = 0.0;
    for (int64_t v = 0; v < vocab; ++v) sum += p[v] = std::exp(z[v] / temperature);
    for (double& x : p) x /= sum;
    return p;
  };
  const std::vector<double> ps = softmax(student), pt = softmax(teacher);
  double kl = 0.0;
  for (int64_t v = 0; v < vocab; ++v) {
    kl += pt[v] * std::log(pt[v] / ps[v]);
    if (grad) grad[v] = temperature * (ps[v] - pt[v]);
  }
  return temperature * temperature * kl;
}

}  // namespace whet
