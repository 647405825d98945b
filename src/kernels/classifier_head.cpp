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

namespace {

// logit l = bias l + weight row l · pooled, in double.
std::vector<double> head_logits(const std::vector<double>& pooled, int64_t hidden, const float* weight,
                                const float* bias, int labels) {
  std::vector<double> logits(static_cast<size_t>(labels));
  for (int l = 0; l < labels; ++l) {
    double sum = bias ? bias[l] : 0.0;
    for (int64_t c = 0; c < hidden; ++c) sum += double(weight[l * hidden + c]) * pooled[size_t(c)];
    logits[size_t(l)] = sum;
  }
  return logits;
}

// The head's backward from d(loss)/d(logits): dweight and dbias +=, dh = (rows
// the pooling ignores zero), each only when not null.
void head_backward(float* dh, float* dweight, float* dbias, const std::vector<double>& dlogits,
                   const std::vector<double>& pooled, int64_t t, int64_t hidden, const float* weight,
                   Pooling pooling) {
  const int64_t first = pooling == Pooling::Last ? t - 1 : 0;
  const double rows = double(t - first);
  std::vector<double> dpooled(static_cast<size_t>(hidden), 0.0);
  for (size_t l = 0; l < dlogits.size(); ++l) {
    const double d = dlogits[l];
    if (dbias) dbias[l] += float(d);
    for (int64_t c = 0; c < hidden; ++c) {
      dpooled[size_t(c)] += d * weight[int64_t(l) * hidden + c];
      if (dweight) dweight[int64_t(l) * hidden + c] += float(d * pooled[size_t(c)]);
    }
  }
  if (!dh) return;
  std::fill(dh, dh + t * hidden, 0.0f);
  for (int64_t r = first; r < t; ++r)
    for (int64_t c = 0; c < hidden; ++c) dh[r * hidden + c] = float(dpooled[size_t(c)] / rows);
}

}  // namespace

ClassifierHeadResult classifier_head(float* dh, float* dweight, float* dbias, const float* h, int64_t t, int64_t hidden,
                                     const float* weight, const float* bias, int labels, Pooling pooling,
                                     int32_t label, float grad_scale) {
  WHET_ASSERT(t > 0 && labels > 0 && label < labels);
  const std::vector<double> pooled = pooled_rows(h, t, hidden, pooling);
  const std::vector<double> logits = head_logits(pooled, hidden, weight, bias, labels);
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
  head_backward(dh, dweight, dbias, dlogits, pooled, t, hidden, weight, pooling);
  return result;
}

double score_head(float* dh, float* dweight, float* dbias, const float* h, int64_t t, int64_t hidden,
                  const float* weight, const float* bias, Pooling pooling, float grad_scale) {
  WHET_ASSERT(t > 0);
  const std::vector<double> pooled = pooled_rows(h, t, hidden, pooling);
  const double score = head_logits(pooled, hidden, weight, bias, 1)[0];
  if (grad_scale != 0.0f && (dh || dweight || dbias))
    head_backward(dh, dweight, dbias, {double(grad_scale)}, pooled, t, hidden, weight, pooling);
  return score;
}

}  // namespace whet
