#include "kernels/classifier_head.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet {

std::string_view pooling_name(Pooling pooling) { return pooling == Pooling::Last ? "last" : "mean"; }

std::optional<Pooling> pooling_from_name(std::string_view name) {
  if (name == "last") return Pooling::Last;
  if (name == "mean") return Pooling::Mean;
  return std::nullopt;
}

namespace {

// Pooled in double: a mean over a long example would otherwise lose the low bits.
std::vector<double> pooled_rows(const float* h, int64_t t, int64_t hidden, Pooling pooling) {
  std::vector<double> pooled(static_cast<size_t>(hidden), 0.0);
  const int64_t first = pooling == Pooling::Last ? t - 1 : 0;
  for (int64_t r = first; r < t; ++r)
    for (int64_t c = 0; c < hidden; ++c) pooled[size_t(c)] += h[r * hidden + c];
  for (double& v : pooled) v /= double(t - first);
  return pooled;
}

}  // namespace

std::vector<float> pool_hidden(const float* h, int64_t t, int64_t hidden, Pooling pooling) {
  const std::vector<double> pooled = pooled_rows(h, t, hidden, pooling);
  return std::vector<float>(pooled.begin(), pooled.end());
}

ClassifierHeadResult classifier_head(float* dh, float* dweight, float* dbias, const float* h, int64_t t, int64_t hidden,
                                     const float* weight, const float* bias, int labels, Pooling pooling,
                                     int32_t label, float grad_scale) {
  WHET_ASSERT(t > 0 && labels > 0 && label < labels);
  const std::vector<double> pooled = pooled_rows(h, t, hidden, pooling);
  const int64_t first = pooling == Pooling::Last ? t - 1 : 0;
  const double rows = double(t - first);

  std::vector<double> logits(static_cast<size_t>(labels));
  for (int l = 0; l < labels; ++l) {
    double sum = bias ? bias[l] : 0.0;
    for (int64_t c = 0; c < hidden; ++c) sum += double(weight[l * hidden + c]) * pooled[size_t(c)];
    logits[size_t(l)] = sum;
  }
  const double max = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (double v : logits) z += std::exp(v - max);
  ClassifierHeadResult result;
  for (double v : logits) result.probabilities.push_back(float(std::exp(v - max) / z));
  if (label < 0) return result;
  result.loss = -(logits[size_t(label)] - max - std::log(z));
  if (!dh && !dweight && !dbias) return result;

  // d(loss)/d(logit l) = p_l - [l == label]
  std::vector<double> dlogits(static_cast<size_t>(labels));
  for (int l = 0; l < labels; ++l)
    dlogits[size_t(l)] = grad_scale * (std::exp(logits[size_t(l)] - max) / z - (l == label ? 1.0 : 0.0));
  std::vector<double> dpooled(static_cast<size_t>(hidden), 0.0);
  for (int l = 0; l < labels; ++l) {
    const double d = dlogits[size_t(l)];
    if (dbias) dbias[l] += float(d);
    for (int64_t c = 0; c < hidden; ++c) {
      dpooled[size_t(c)] += d * weight[l * hidden + c];
      if (dweight) dweight[l * hidden + c] += float(d * pooled[size_t(c)]);
    }
  }
  if (!dh) return result;
  std::fill(dh, dh + t * hidden, 0.0f);
  for (int64_t r = first; r < t; ++r)
    for (int64_t c = 0; c < hidden; ++c) dh[r * hidden + c] = float(dpooled[size_t(c)] / rows);
  return result;
}

}  // namespace whet
