#pragma once
// Hyperparameters of the Llama family (Llama 2/3, SmolLM, Mistral-style dense
// models): everything the forward pass needs, independent of the file format.
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/rope.h"

namespace whet {

struct LlamaConfig {
  std::string architecture = "llama";  // HF "architectures"[0] or GGUF general.architecture
  int vocab_size = 0;
  int hidden_size = 0;         // e.g. 576 for SmolLM2-135M
  int intermediate_size = 0;   // e.g. 1536
  int num_layers = 0;          // e.g. 30
  int num_heads = 0;           // e.g. 9
  int num_kv_heads = 0;        // e.g. 3 (grouped-query attention when < num_heads)
  int head_dim = 0;            // e.g. 64; hidden_size / num_heads unless given
  int max_position_embeddings = 2048;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  float rms_norm_eps = 1e-5f;
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
};

// The longest context Whet gives a model at inference: the model's own maximum,
// capped at 8192 tokens, because a KV cache is allocated whole up front and a
// model trained for 128k positions would otherwise ask for gigabytes per sequence.
constexpr int kContextCap = 8192;
inline int usable_context(const LlamaConfig& config) {
  return config.max_position_embeddings < kContextCap ? config.max_position_embeddings : kContextCap;
}

// Reads a Hugging Face config.json (LlamaForCausalLM and Llama-compatible
// architectures). Missing required fields or unsupported architectures throw
// whet::Error naming the file and the field.
LlamaConfig read_hf_config(const std::string& path);
// Writes config.json for LlamaForCausalLM (atomically).
void write_hf_config(const std::string& path, const LlamaConfig& config);

}  // namespace whet
