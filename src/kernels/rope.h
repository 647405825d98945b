#pragma once
// Rotary position embeddings in the "rotate half" convention of Hugging Face
// checkpoints: element i of a head is paired with element i + head_dim/2.
// (GGUF files store q/k rows permuted for the interleaved convention; the
// loader undoes that, so there is one convention inside Whet.)
#include <cstdint>
#include <vector>

namespace whet {

// How a model stretches its positions beyond the trained context (config.json's rope_scaling).
// LongRope (Phi-3's "longrope", formerly "su") divides each frequency by its own factor.
enum class RopeScalingType { None, Linear, Llama3, LongRope };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  float factor = 1.0f;
  // llama3 only
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;  // llama3 and longrope
  // longrope only: one factor per rotated pair for contexts up to the original
  // length and for longer ones, and the factor that scales cos and sin.
  std::vector<float> short_factors, long_factors;
  float attention_factor = 1.0f;
};

// Inverse frequencies, one per rotated pair, with the model's rope scaling applied.
// `freq_divisors` (GGUF rope_freqs.weight, or the longrope factors in use) divides each
// frequency; a longrope scaling needs them, since which factors apply is the model's choice.
std::vector<float> rope_inverse_frequencies(int head_dim, float theta, const RopeScaling& scaling,
                                            const std::vector<float>& freq_divisors = {});

// x is (t, heads, head_dim), rotated in place; positions is (t).
void rope_forward(float* x, const int32_t* positions, int64_t t, int64_t heads, int64_t head_dim,
                  const float* inv_freq);
// dx is the gradient with respect to the rotated x, turned in place into the gradient of the input.
void rope_backward(float* dx, const int32_t* positions, int64_t t, int64_t heads, int64_t head_dim,
                   const float* inv_freq);

}  // namespace whet
