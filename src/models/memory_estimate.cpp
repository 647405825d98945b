#include "models/memory_estimate.h"

#include <set>

#include "kernels/cross_entropy.h"
#include "models/llama_train.h"

namespace whet {

int64_t lora_parameter_count(const LlamaConfig& c, int rank) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, f = c.intermediate_size;
  // Each adapted matrix (out, in) adds rank * (in + out); an ungated MLP has no gate to adapt.
  const int64_t per_layer = rank * ((h + q) + 2 * (h + kv) + (q + h) + (c.gated_mlp ? 2 : 1) * (h + f) + (f + h));
  return per_layer * c.num_layers;
}

int64_t training_activation_bytes(const LlamaConfig& c, int64_t seq_len, int lora_rank, int checkpointed_blocks,
                                  bool head_decoded) {
  return llama_activation_bytes(c, seq_len, lora_rank, checkpointed_blocks) +
         lm_head_cross_entropy_scratch_bytes(c.vocab_size, c.hidden_size, head_decoded);
}

int64_t llama_parameter_count(const LlamaConfig& c) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, f = c.intermediate_size;
  const int64_t norm = c.norm == NormKind::Layer ? 2 * h : h;  // weight, and LayerNorm's bias
  int64_t per_layer = 2 * norm + h * q + 2 * h * kv + q * h + (c.gated_mlp ? 3 : 2) * h * f;
  if (c.attention_bias) per_layer += q + 2 * kv;
  if (c.projection_bias) per_layer += h + f + h;
  if (c.qk_norm) per_layer += 2 * c.head_dim;
  if (c.sandwich_norms) per_layer += 2 * h;
  int64_t embeddings = int64_t(c.vocab_size) * h * (c.tie_word_embeddings ? 1 : 2);
  if (c.learned_positions) embeddings += int64_t(c.max_position_embeddings) * h;
  return embeddings + per_layer * c.num_layers + norm;
}

int64_t weight_bytes(const LlamaModel& model) {
  std::set<const uint8_t*> counted;
  int64_t bytes = 0;
  for_each_weight(model.weights, model.config, [&](const std::string&, const Weight& w) {
    if (w.data && counted.insert(w.data).second) bytes += int64_t(w.row_bytes()) * w.rows;
  });
  return bytes;
}

MemoryEstimate estimate_inference(const LlamaConfig& c, double weight_bytes_per_param, int64_t context) {
  MemoryEstimate e;
  e.weights_bytes = int64_t(double(llama_parameter_count(c)) * weight_bytes_per_param);
  e.activation_bytes = 2 * 4 * context * int64_t(c.num_kv_heads) * c.head_dim * c.num_layers;
  return e;
}

MemoryEstimate estimate_full_training(const LlamaConfig& c, int64_t seq_len, int checkpointed_blocks) {
  MemoryEstimate e;
  const int64_t params = llama_parameter_count(c);
  e.weights_bytes = 4 * params;
  e.trainable_state_bytes = 3 * 4 * params;
  e.activation_bytes = training_activation_bytes(c, seq_len, 0, checkpointed_blocks, false);
  return e;
}

MemoryEstimate estimate_lora_training(const LlamaConfig& c, double base_bytes_per_param, int rank, int64_t seq_len,
                                      int checkpointed_blocks, bool head_decoded) {
  MemoryEstimate e;
  const int64_t adapters = lora_parameter_count(c, rank);
  e.weights_bytes = int64_t(double(llama_parameter_count(c)) * base_bytes_per_param) + 4 * adapters;
  e.trainable_state_bytes = 3 * 4 * adapters;
  e.activation_bytes = training_activation_bytes(c, seq_len, rank, checkpointed_blocks, head_decoded);
  return e;
}

CheckpointPlan plan_checkpointing(const LlamaConfig& c, int64_t seq_len, int lora_rank, bool head_decoded,
                                  int64_t other_bytes, int64_t budget_bytes) {
  CheckpointPlan plan;
  for (plan.blocks = 0; plan.blocks <= c.num_layers; ++plan.blocks) {
    plan.activation_bytes = training_activation_bytes(c, seq_len, lora_rank, plan.blocks, head_decoded);
    if (other_bytes + plan.activation_bytes <= budget_bytes) return plan;
  }
  plan.blocks = c.num_layers;
  plan.fits = false;
  return plan;
}

}  // namespace whet
