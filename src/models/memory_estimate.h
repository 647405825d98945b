#pragma once
// Rough memory needs of running and training a model, for `whet info` and for
// choosing settings before a long run. Estimates, stated with their assumptions.
#include <cstdint>

#include "models/llama_config.h"

namespace whet {

struct MemoryEstimate {
  int64_t weights_bytes = 0;
  int64_t trainable_state_bytes = 0;  // gradients + optimizer moments of what trains
  int64_t activation_bytes = 0;       // kept for backward, or the KV cache for inference
  int64_t total() const { return weights_bytes + trainable_state_bytes + activation_bytes; }
};

int64_t llama_parameter_count(const LlamaConfig& c);
// Inference with weights at `weight_bytes_per_param` and an fp32 KV cache of `context` positions.
MemoryEstimate estimate_inference(const LlamaConfig& c, double weight_bytes_per_param, int64_t context);
// Full fine-tuning: fp32 weights, gradients and two AdamW moments; activations of one sequence.
MemoryEstimate estimate_full_training(const LlamaConfig& c, int64_t seq_len);
// LoRA on all linear layers at `rank`: frozen base at `base_bytes_per_param`, fp32 adapters with AdamW.
MemoryEstimate estimate_lora_training(const LlamaConfig& c, double base_bytes_per_param, int rank, int64_t seq_len);

}  // namespace whet
