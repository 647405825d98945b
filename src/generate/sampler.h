#pragma once
// Picks the next token from logits. The filters run in the order Hugging Face
// transformers applies them: repetition penalty, temperature, top-k, top-p,
// min-p. Temperature 0 means greedy (argmax), which is deterministic.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace whet {

struct SamplingParams {
  float temperature = 0.7f;
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float min_p = 0.0f;               // 0 = off; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1 = off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // `history` is every token so far (prompt and generated), for the repetition penalty.
  // logits are modified in place.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

 private:
  int32_t sample_whole(std::span<float> logits);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace whet
