#pragma once
// The decoder of every family Whet runs (Llama and its variations, see
// models/model_family.h): weights, their names, and the inference forward pass
// with a key/value cache.
//
// Tensor names inside Whet are GGUF's (blk.3.attn_q.weight); hf_tensor_name()
// maps them to Hugging Face's. q/k rows are kept in Hugging Face order
// ("rotate half" rope) whatever file they came from.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/weight.h"
#include "models/llama_config.h"
#include "models/lora_adapter.h"

namespace whet {

struct LlamaLayer {
  Weight attn_norm, ffn_norm;  // (1, hidden), fp32
  Weight q, k, v, o;           // (heads*head_dim, hidden) ... o: (hidden, heads*head_dim)
  Weight gate, up, down;       // (intermediate, hidden), down: (hidden, intermediate)
  // The families' additions, empty (null data) where the config has none:
  Weight q_bias, k_bias, v_bias;           // (1, q/kv width), fp32: attention_bias
  Weight q_norm, k_norm;                   // (1, head_dim), fp32: qk_norm
  Weight post_attn_norm, post_ffn_norm;    // (1, hidden), fp32: sandwich_norms
  Weight attn_norm_bias, ffn_norm_bias;    // (1, hidden), fp32: LayerNorm
  Weight o_bias, up_bias, down_bias;       // (1, hidden / intermediate / hidden), fp32: projection_bias
};

// The matrix of projection p (q, k, v, o, gate, up, down) in a block.
const Weight& projection_weight(const LlamaLayer& layer, Projection p);
Weight& projection_weight(LlamaLayer& layer, Projection p);

struct LlamaWeights {
  Weight embed;           // (vocab, hidden)
  Weight position_embed;  // (max_position_embeddings, hidden): learned_positions
  std::vector<LlamaLayer> layers;
  Weight final_norm;      // (1, hidden), fp32
  Weight final_norm_bias; // (1, hidden), fp32: LayerNorm
  Weight lm_head;     // (vocab, hidden); the same storage as embed when tied
};

struct LlamaModel {
  LlamaConfig config;
  LlamaWeights weights;
  std::vector<float> rope_inv_freq;        // (head_dim / 2)
  std::vector<float> rope_local_inv_freq;  // sliding-window layers' own, when config.rope_local_theta is set
  std::shared_ptr<const void> file;  // keeps a mapped model file alive while weights point into it

  const float* rope_frequencies(int layer) const {
    return config.layer_is_sliding(layer) && !rope_local_inv_freq.empty() ? rope_local_inv_freq.data()
                                                                           : rope_inv_freq.data();
  }
};

// Fills rope_inv_freq (the config's base and scaling; llama.cpp's per-frequency
// divisors when given, the longrope factors in use for longrope) and rope_local_inv_freq.
void set_rope_frequencies(LlamaModel& model, const std::vector<float>& divisors = {});
// Every norm weight (fp32 copies) plus delta: Hugging Face's Gemma norms hold w where Whet holds 1 + w.
void offset_norm_weights(LlamaWeights& weights, const LlamaConfig& config, float delta);

// Calls fn(gguf_name, weight) for every tensor of the model, in GGUF order;
// a tied lm_head is skipped. The one list behind loading, saving and conversion.
void for_each_weight(LlamaWeights& weights, const LlamaConfig& config,
                     const std::function<void(const std::string&, Weight&)>& fn);
void for_each_weight(const LlamaWeights& weights, const LlamaConfig& config,
                     const std::function<void(const std::string&, const Weight&)>& fn);
// Calls fn(gguf_name, hf_name, weight) for every tensor as the family's files hold
// it: the weights a family fuses (Phi-3's q, k, v) stacked under the fused
// tensor's names, every other weight as it is. The writers' list.
void for_each_file_tensor(const LlamaWeights& weights, const LlamaConfig& config,
                          const std::function<void(const std::string&, const std::string&, const Weight&)>& fn);
// Expected shape (rows, cols) of a named tensor; norms and biases are (1, width).
std::pair<int64_t, int64_t> llama_tensor_shape(const std::string& gguf_name, const LlamaConfig& config);
// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight" (names differ by family).
std::string hf_tensor_name(const std::string& gguf_name, const LlamaConfig& config);

// Key/value history of one sequence: (layers, capacity, kv_heads * head_dim) each,
// as fp32 in k/v, or as IEEE half in k_f16/v_f16 (the other pair stays empty).
// Half takes half the memory and half of what a decode step reads, where reading
// the history is most of attention's time; as in llama.cpp, whose default it is.
struct KvCache {
  int64_t capacity = 0;
  int64_t length = 0;  // positions filled
  DType dtype = DType::F32;
  std::vector<float> k, v;
  std::vector<uint16_t> k_f16, v_f16;
  KvCache(const LlamaConfig& config, int64_t capacity, DType dtype = DType::F32);
};

// The first `positions` of `from` become `to`'s whole history (caches of the
// model of `config`; to.capacity at least `positions`).
void copy_cache_prefix(const LlamaConfig& config, const KvCache& from, int64_t positions, KvCache& to);

// Runs `tokens` at positions cache.length onward and appends their keys and
// values to the cache. Writes logits (rows, vocab) for the last token only, or
// for every token when all_logits is set. `lora`, if given, is applied unmerged.
void llama_forward(const LlamaModel& model, KvCache& cache, std::span<const int32_t> tokens,
                   std::vector<float>& logits, bool all_logits = false, const LlamaLora* lora = nullptr);

// One row group per sequence: `tokens` of that sequence continue its cache.
struct BatchSequence {
  KvCache* cache = nullptr;
  std::span<const int32_t> tokens;  // at least one
};

// Runs the tokens of every sequence in one pass through the weights (read once
// per step, not once per sequence: decoding is memory-bound), attention per
// sequence against its own cache, and appends their keys and values to their
// caches. logits (batch.size(), vocab): each sequence's last token, in the order
// of `batch`; with all_logits, every token's (sequence after sequence). `lora`,
// if given, applies to every row. Every sequence is checked
// before any cache changes, and errors name the sequence's index in `batch`.
// llama_forward is the one-sequence case of the same code.
void llama_forward_batch(const LlamaModel& model, std::span<const BatchSequence> batch, std::vector<float>& logits,
                         const LlamaLora* lora = nullptr, bool all_logits = false);

}  // namespace whet
