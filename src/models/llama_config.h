#pragma once
// Hyperparameters of the decoder-only transformers Whet runs: the Llama family
// (Llama 2/3, SmolLM) and the families that vary its block (Qwen2, Mistral,
// Gemma 3, Phi-3, GPT-2; models/model_family.h). Everything the forward pass needs,
// independent of the file format; the variations default to off (plain Llama).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gated_activation.h"
#include "kernels/rope.h"

namespace whet {

// The block's two norms and the final one: RMSNorm with a weight, or LayerNorm
// with a weight and a bias (GPT-2).
enum class NormKind { Rms, Layer };

struct LlamaConfig {
  std::string family = "llama";  // ModelFamily::name: llama, mistral, qwen2, gemma3, phi3, gpt2 (model_family.h)
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
  float norm_eps = 1e-5f;      // of every norm in the model, whatever its kind
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  // Variations of the block, set by the family.
  NormKind norm = NormKind::Rms;  // of the block's two norms and the final one (q/k and sandwich norms are RMSNorms)
  bool learned_positions = false;  // a position embedding added to the token embeddings, and no rope (GPT-2)
  bool attention_bias = false;  // q, k and v projections add a bias (Qwen2, GPT-2)
  bool projection_bias = false; // the o, up and down projections add a bias (GPT-2)
  bool gated_mlp = true;        // act(gate) * up; false: act(up), no gate projection (GPT-2)
  GateActivation activation = GateActivation::Silu;  // of the MLP
  bool qk_norm = false;         // RMSNorm over each head of q and k before rope (Gemma 3)
  bool sandwich_norms = false;  // RMSNorm on the attention and MLP outputs before each residual add (Gemma)
  float embedding_scale = 1.0f; // token embeddings times this (Gemma: sqrt(hidden_size))
  float query_scale = 0.0f;     // attention scores times this; 0: 1/sqrt(head_dim)
  // Softcapping (kernels/softcap.h), where a Gemma config sets it: scaled attention
  // scores, and the LM head's logits, become cap·tanh(x / cap). 0: none.
  float attn_logit_softcap = 0.0f;
  float final_logit_softcap = 0.0f;
  // Sliding-window attention: a query at position p sees keys at positions
  // p - sliding_window < j <= p (p - j < window, as transformers and llama.cpp
  // define it), in the layers marked in sliding_layers (all when it is empty). 0: none.
  int sliding_window = 0;
  std::vector<bool> sliding_layers;
  float rope_local_theta = 0.0f;  // rope base of sliding-window layers (Gemma 3); 0: rope_theta
  // Hugging Face stores Gemma's norm weights w and multiplies by 1 + w; GGUF
  // and Whet hold 1 + w, so only the Hugging Face reader and writer add or subtract 1.
  bool norm_weights_offset_by_one = false;

  bool layer_is_sliding(int layer) const {
    return sliding_window > 0 && (sliding_layers.empty() || sliding_layers[size_t(layer)]);
  }
};

// The longest context Whet gives a model at inference: the model's own maximum,
// capped at 8192 tokens, because a KV cache is allocated whole up front and a
// model trained for 128k positions would otherwise ask for gigabytes per sequence.
constexpr int kContextCap = 8192;
inline int usable_context(const LlamaConfig& config) {
  return config.max_position_embeddings < kContextCap ? config.max_position_embeddings : kContextCap;
}

// Which longrope factors a model runs with: the long ones when the context Whet
// gives it exceeds the original one. The choice is made once per model, as
// llama.cpp makes it, so that keys in a KV cache never mix two rotations
// (transformers re-chooses per call by the sequence's length).
inline bool uses_long_rope_factors(const LlamaConfig& config) {
  return usable_context(config) > config.rope_scaling.original_max_position_embeddings;
}

// The longrope attention factor of a context stretched from `original` to `context`
// positions: sqrt(1 + ln(stretch) / ln(original)), 1 when not stretched.
inline float longrope_attention_factor(int context, int original) {
  const double stretch = double(context) / original;
  return stretch <= 1 ? 1.0f : float(std::sqrt(1.0 + std::log(stretch) / std::log(double(original))));
}

// What attention scores are multiplied by: the family's query scale (1/sqrt(head_dim)
// unless set), times the square of a longrope attention factor, which scales the
// cos and sin that rotate both q and k.
inline float attention_scale(const LlamaConfig& config) {
  const float query = config.query_scale > 0 ? config.query_scale : 1.0f / std::sqrt(float(config.head_dim));
  const float factor = config.rope_scaling.attention_factor;
  return query * factor * factor;
}

// Reads a Hugging Face config.json (LlamaForCausalLM and Llama-compatible
// architectures). Missing required fields or unsupported architectures throw
// whet::Error naming the file and the field.
LlamaConfig read_hf_config(const std::string& path);
// Writes config.json for LlamaForCausalLM (atomically).
void write_hf_config(const std::string& path, const LlamaConfig& config);

}  // namespace whet
