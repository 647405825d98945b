#include "train/anchor_penalty.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace whet {

double quadratic_penalty(float* grad, const float* value, const float* anchor, const float* fisher, int64_t n,
                         double lambda) {
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(size_t(chunks), 0.0);
  const float scale = float(lambda);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double sum = 0.0;
    for (int64_t i = c * kChunk, end = std::min(n, i + kChunk); i < end; ++i) {
      const float f = fisher ? fisher[i] : 1.0f;
      const float d = value[i] - anchor[i];
      sum += double(f) * double(d) * double(d);
      if (grad) grad[i] += scale * f * d;
    }
    sums[size_t(c)] = sum;
  }
  double total = 0.0;
  for (double s : sums) total += s;
  return 0.5 * lambda * total;
}

double add_penalty_gradient(const AnchorPenalty& penalty, const std::vector<Parameter>& parameters) {
  if (!penalty.on()) return 0.0;
  double total = 0.0;
  for (const Parameter& p : parameters) {
    const auto it = penalty.anchors.find(p.name);
    WHET_ASSERT(it != penalty.anchors.end() && int64_t(it->second.value.size()) == p.numel);
    const Anchor& a = it->second;
    total += quadratic_penalty(p.grad, p.value, a.value.data(), a.fisher.empty() ? nullptr : a.fisher.data(), p.numel,
                               penalty.lambda);
  }
  return total;
}

void anchor_new_parameters(AnchorPenalty& penalty, const std::vector<Parameter>& parameters) {
  if (!penalty.on()) return;
  for (const Parameter& p : parameters) {
    if (!penalty.anchors.contains(p.name)) penalty.anchors[p.name].value.assign(p.value, p.value + p.numel);
  }
}

}  // namespace whet
