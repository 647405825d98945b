#include "generate/sampler.h"

#include <algorithm>
#include <cmath>

#include "kernels/row_max.h"
#include "kernels/vector_exp.h"

namespace whet {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  if (params_.repetition_penalty != 1.0f) {
    std::vector<bool> seen(logits.size(), false);
    for (int32_t id : history) {
      if (id < 0 || size_t(id) >= logits.size() || seen[id]) continue;
      seen[id] = true;
      float& l = logits[id];
      l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
    }
  }
  if (params_.temperature <= 0.0f)
    return int32_t(index_of_max(logits.data(), int64_t(logits.size())));
  if (params_.top_k <= 0 && params_.top_p >= 1.0f && params_.min_p <= 0.0f) return sample_whole(logits);

  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i) candidates_.emplace_back(logits[i] / params_.temperature, int32_t(i));
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && size_t(params_.top_k) < keep) {
    keep = size_t(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);

  // Softmax over the survivors, then cut the tail by top-p and min-p.
  const float max_logit = candidates_.front().first;
  double total = 0.0;
  for (auto& [value, id] : candidates_) total += (value = std::exp(value - max_logit));
  for (auto& c : candidates_) c.first = float(c.first / total);
  double cumulative = 0.0;
  size_t cut = 0;
  const float p_max = candidates_.front().first;
  while (cut < candidates_.size()) {
    if (cut > 0 && candidates_[cut].first < params_.min_p * p_max) break;
    cumulative += candidates_[cut].first;
    ++cut;
    if (cumulative >= params_.top_p) break;
  }
  candidates_.resize(cut);

  double mass = 0.0;
  for (const auto& c : candidates_) mass += c.first;
  std::uniform_real_distribution<double> uniform(0.0, mass);
  double r = uniform(rng_);
  for (const auto& [p, id] : candidates_) {
    if ((r -= p) <= 0.0) return id;
  }
  return candidates_.back().second;
}

// No filter cuts the tail: a draw from softmax(logits / T) in vocabulary order,
// without sorting the 49k candidates for every token (a tenth of a rollout step).
int32_t Sampler::sample_whole(std::span<float> logits) {
  const float max_logit = max_of(logits.data(), 0, int64_t(logits.size()));
  const float inv_t = 1.0f / params_.temperature;
  double total = 0.0;
#pragma omp simd reduction(+ : total)
  for (size_t i = 0; i < logits.size(); ++i) total += double(logits[i] = vector_exp((logits[i] - max_logit) * inv_t));
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (size_t i = 0; i < logits.size(); ++i)
    if ((r -= logits[i]) <= 0.0) return int32_t(i);
  // Rounding left r above the last subtraction: the last token with any weight.
  for (size_t i = logits.size(); i-- > 0;)
    if (logits[i] > 0.0f) return int32_t(i);
  return 0;
}

}  // namespace whet
