#pragma once
// Hyperparameters of the Llama family (Llama 2/3, SmolLM, Mistral-style dense
// models): everything the forward pass needs, independent of the file format.
#include <cstdint>
#include <string>
#include <vector>

namespace whet {

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  float factor = 1.0f;
  // llama3 only
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

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

// Reads a Hugging Face config.json (LlamaForCausalLM and Llama-compatible
// architectures). Missing required fields or unsupported architectures throw
// whet::Error naming the file and the field.
LlamaConfig read_hf_config(const std::string& path);
// Writes config.json for LlamaForCausalLM (atomically).
void write_hf_config(const std::string& path, const LlamaConfig& config);

}  // namespace whet
