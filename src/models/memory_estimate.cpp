#include "models/memory_estimate.h"

namespace whet {

namespace {
// Floats kept per token per layer for the backward pass: inputs of both norms,
// q, k, v, attention output, gate (when gated), up and the activation.
int64_t saved_floats_per_token_per_layer(const LlamaConfig& c) {
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  const int64_t qk_norm = c.qk_norm ? q_dim + kv_dim : 0, sandwich = c.sandwich_norms ? 2 * int64_t(c.hidden_size) : 0;
  const int64_t mlp = (c.gated_mlp ? 3 : 2) * int64_t(c.intermediate_size);
  return 4 * int64_t(c.hidden_size) + 2 * q_dim + 2 * kv_dim + mlp + qk_norm + sandwich;
}
int64_t activation_bytes(const LlamaConfig& c, int64_t seq_len) {
  // Per-layer saves plus the logits of one sequence and their gradient.
  return 4 * seq_len * (saved_floats_per_token_per_layer(c) * c.num_layers + 2 * int64_t(c.vocab_size));
}
int64_t lora_parameter_count(const LlamaConfig& c, int rank) {
  const int64_t h = c.hidden_size, q = int64_t(c.num_heads) * c.head_dim,
                kv = int64_t(c.num_kv_heads) * c.head_dim, f = c.intermediate_size;
  // Each adapted matrix (out, in) adds rank * (in + out); an ungated MLP has no gate to adapt.
  const int64_t per_layer = rank * ((h + q) + 2 * (h + kv) + (q + h) + (c.gated_mlp ? 2 : 1) * (h + f) + (f + h));
  return per_layer * c.num_layers;
}
}  // namespace

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

MemoryEstimate estimate_inference(const LlamaConfig& c, double weight_bytes_per_param, int64_t context) {
  MemoryEstimate e;
  e.weights_bytes = int64_t(double(llama_parameter_count(c)) * weight_bytes_per_param);
  e.activation_bytes = 2 * 4 * context * int64_t(c.num_kv_heads) * c.head_dim * c.num_layers;
  return e;
}

MemoryEstimate estimate_full_training(const LlamaConfig& c, int64_t seq_len) {
  MemoryEstimate e;
  const int64_t params = llama_parameter_count(c);
  e.weights_bytes = 4 * params;
  e.trainable_state_bytes = 3 * 4 * params;
  e.activation_bytes = activation_bytes(c, seq_len);
  return e;
}

MemoryEstimate estimate_lora_training(const LlamaConfig& c, double base_bytes_per_param, int rank, int64_t seq_len) {
  MemoryEstimate e;
  const int64_t adapters = lora_parameter_count(c, rank);
  e.weights_bytes = int64_t(double(llama_parameter_count(c)) * base_bytes_per_param) + 4 * adapters;
  e.trainable_state_bytes = 3 * 4 * adapters;
  e.activation_bytes = activation_bytes(c, seq_len);
  return e;
}

}  // namespace whet
