// LayerNorm with a bias, forward and backward, against a double-precision
// reference of the formula, finite differences of that reference, and a row
// worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/layernorm.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::random_values;

constexpr float kEps = 1e-5f;

// One row of the forward in double: (x − mean)/sqrt(var + eps)·w + b.
std::vector<double> reference_row(const double* x, const float* w, const float* b, int64_t c) {
  double mean = 0, var = 0;
  for (int64_t j = 0; j < c; ++j) mean += x[j];
  mean /= double(c);
  for (int64_t j = 0; j < c; ++j) var += (x[j] - mean) * (x[j] - mean);
  const double r = 1.0 / std::sqrt(var / double(c) + kEps);
  std::vector<double> y(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) y[size_t(j)] = (x[j] - mean) * r * w[j] + b[j];
  return y;
}

// Σ dy·y of one row, whose derivatives by x, w and b the backward computes.
double loss_of_row(const double* x, const float* w, const float* b, const float* dy, int64_t c) {
  const std::vector<double> y = reference_row(x, w, b, c);
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += dy[j] * y[size_t(j)];
  return s;
}

// Rows of 96 values (mean ≠ 0, so centring matters): outputs to 1e-5, input
// gradients to central differences of the reference within 1e-4, weight and bias
// gradients (sums over rows) to their definitions, and accumulated onto what was there.
TEST(LayerNorm, ForwardAndBackwardMatchTheReference) {
  const int64_t n = 7, c = 96;
  std::vector<float> x = random_values(n * c, 1), w = random_values(c, 2), b = random_values(c, 3);
  const std::vector<float> dy = random_values(n * c, 4);
  for (float& v : x) v = 3.0f + 2.0f * v;
  std::vector<float> y(n * c), mean(n), rstd(n), dx(n * c), dw(c, 1.0f), db(c, -1.0f);
  layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), n, c, kEps);
  layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(), rstd.data(), n, c);

  std::vector<double> want_dw(c, 1.0), want_db(c, -1.0);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row(x.begin() + i * c, x.begin() + (i + 1) * c);
    const std::vector<double> want = reference_row(row.data(), w.data(), b.data(), c);
    for (int64_t j = 0; j < c; ++j) {
      EXPECT_NEAR(y[size_t(i * c + j)], want[size_t(j)], 1e-5) << i << "," << j;
      // y = x̂·w + b: dL/dw = Σ dy·x̂, dL/db = Σ dy.
      want_dw[size_t(j)] += dy[size_t(i * c + j)] * (want[size_t(j)] - b[j]) / w[j];
      want_db[size_t(j)] += dy[size_t(i * c + j)];
      const double h = 1e-4;
      row[size_t(j)] += h;
      const double up = loss_of_row(row.data(), w.data(), b.data(), dy.data() + i * c, c);
      row[size_t(j)] -= 2 * h;
      const double down = loss_of_row(row.data(), w.data(), b.data(), dy.data() + i * c, c);
      row[size_t(j)] += h;
      EXPECT_NEAR(dx[size_t(i * c + j)], (up - down) / (2 * h), 1e-4) << i << "," << j;
    }
  }
  for (int64_t j = 0; j < c; ++j) {
    EXPECT_NEAR(dw[size_t(j)], want_dw[size_t(j)], 1e-4 * std::max(1.0, std::fabs(want_dw[size_t(j)]))) << j;
    EXPECT_NEAR(db[size_t(j)], want_db[size_t(j)], 1e-5 * std::max(1.0, std::fabs(want_db[size_t(j)]))) << j;
  }
}

// x = (1, 2, 3, 4): mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25, so with
// eps 0 x̂ = (−1.5, −0.5, 0.5, 1.5)/√1.25 = (−1.3416408, −0.4472136, 0.4472136, 1.3416408);
// weight (1, 2, 1, 0.5) and bias (0, 0.5, −1, 0) give (−1.3416408, −0.3944272, −0.5527864, 0.6708204).
// dout (1, 1, 1, 1) with weight 1 and bias 0: the output sums to 0 whatever x is, so dinp = 0.
TEST(LayerNorm, ValuesWorkedByHand) {
  const float x[] = {1, 2, 3, 4}, w[] = {1, 2, 1, 0.5f}, b[] = {0, 0.5f, -1, 0};
  float y[4], mean, rstd;
  layernorm_forward(y, &mean, &rstd, x, w, b, 1, 4, 0.0f);
  EXPECT_FLOAT_EQ(mean, 2.5f);
  EXPECT_NEAR(rstd, 0.8944272f, 1e-6);
  const float want[] = {-1.3416408f, -0.3944272f, -0.5527864f, 0.6708204f};
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(y[j], want[j], 1e-6) << j;

  const float ones[] = {1, 1, 1, 1}, zeros[] = {0, 0, 0, 0};
  float dx[4], db[4] = {0, 0, 0, 0};
  layernorm_backward(dx, nullptr, db, ones, x, ones, &mean, &rstd, 1, 4);
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(dx[j], 0.0f, 1e-6) << j;
    EXPECT_EQ(db[j], 1.0f) << j;
  }
  layernorm_forward(y, nullptr, nullptr, x, ones, zeros, 1, 4, 0.0f);  // no statistics kept
  EXPECT_NEAR(y[3], 1.3416408f, 1e-6);
}

}  // namespace
}  // namespace whet
