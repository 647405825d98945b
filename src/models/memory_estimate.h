#pragma once
// Rough memory needs of running and training a model, for `whet info` and for
// choosing settings before a long run (how many blocks to checkpoint).
// Estimates, stated with their assumptions.
#include <cstdint>

#include "models/llama.h"

namespace whet {

struct MemoryEstimate {
  int64_t weights_bytes = 0;
  int64_t trainable_state_bytes = 0;  // gradients + optimizer moments of what trains
  int64_t activation_bytes = 0;       // kept for backward (with the backward's scratch), or the KV cache for inference
  int64_t total() const { return weights_bytes + trainable_state_bytes + activation_bytes; }
};

int64_t llama_parameter_count(const LlamaConfig& c);
// Bytes of a loaded model's weights as held (quantized ones at their size), a tied head counted once.
int64_t weight_bytes(const LlamaModel& model);
// Parameters of a LoRA adapter of `rank` on all linear layers.
int64_t lora_parameter_count(const LlamaConfig& c, int rank);
// Inference with weights at `weight_bytes_per_param` and an fp32 KV cache of `context` positions.
MemoryEstimate estimate_inference(const LlamaConfig& c, double weight_bytes_per_param, int64_t context);

// Training's activations are those of one sequence of seq_len tokens exactly as
// LlamaActivations holds them (models/llama_train.h) with the first
// `checkpointed_blocks` blocks checkpointed, plus the LM head's chunk scratch
// (and its fp32 copy when the head is stored otherwise: head_decoded).
//
// Full fine-tuning: fp32 weights, gradients and two AdamW moments.
MemoryEstimate estimate_full_training(const LlamaConfig& c, int64_t seq_len, int checkpointed_blocks = 0);
// LoRA on all linear layers at `rank`: frozen base at `base_bytes_per_param`, fp32 adapters with AdamW.
MemoryEstimate estimate_lora_training(const LlamaConfig& c, double base_bytes_per_param, int rank, int64_t seq_len,
                                      int checkpointed_blocks = 0, bool head_decoded = false);
int64_t training_activation_bytes(const LlamaConfig& c, int64_t seq_len, int lora_rank, int checkpointed_blocks,
                                  bool head_decoded);

// Which blocks to checkpoint: the fewest (the first ones) whose activations,
// with `other_bytes` (weights, trainable state), fit `budget_bytes`; every block
// when none does (fits false).
struct CheckpointPlan {
  int blocks = 0;
  int64_t activation_bytes = 0;  // with them checkpointed
  bool fits = true;
};
CheckpointPlan plan_checkpointing(const LlamaConfig& c, int64_t seq_len, int lora_rank, bool head_decoded,
                                  int64_t other_bytes, int64_t budget_bytes);

}  // namespace whet
