#include "models/llama.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <utility>

#include "core/error.h"
#include "kernels/linear.h"
#include "kernels/rope.h"
#include "kernels/softcap.h"
#include "models/llama_block.h"
#include "models/model_family.h"

namespace whet {

namespace {

template <typename Weights, typename Fn>
void visit_weights(Weights& w, const LlamaConfig& config, const Fn& fn) {
  const bool layer_norm = config.norm == NormKind::Layer;
  fn("token_embd.weight", w.embed);
  if (config.learned_positions) fn("position_embd.weight", w.position_embed);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const std::string p = fmt::format("blk.{}.", i);
    fn(p + "attn_norm.weight", l.attn_norm);
    if (layer_norm) fn(p + "attn_norm.bias", l.attn_norm_bias);
    fn(p + "attn_q.weight", l.q);
    fn(p + "attn_k.weight", l.k);
    fn(p + "attn_v.weight", l.v);
    if (config.attention_bias) {
      fn(p + "attn_q.bias", l.q_bias);
      fn(p + "attn_k.bias", l.k_bias);
      fn(p + "attn_v.bias", l.v_bias);
    }
    if (config.qk_norm) {
      fn(p + "attn_q_norm.weight", l.q_norm);
      fn(p + "attn_k_norm.weight", l.k_norm);
    }
    fn(p + "attn_output.weight", l.o);
    if (config.projection_bias) fn(p + "attn_output.bias", l.o_bias);
    if (config.sandwich_norms) fn(p + "post_attention_norm.weight", l.post_attn_norm);
    fn(p + "ffn_norm.weight", l.ffn_norm);
    if (layer_norm) fn(p + "ffn_norm.bias", l.ffn_norm_bias);
    if (config.gated_mlp) fn(p + "ffn_gate.weight", l.gate);
    fn(p + "ffn_up.weight", l.up);
    if (config.projection_bias) fn(p + "ffn_up.bias", l.up_bias);
    fn(p + "ffn_down.weight", l.down);
    if (config.projection_bias) fn(p + "ffn_down.bias", l.down_bias);
    if (config.sandwich_norms) fn(p + "post_ffw_norm.weight", l.post_ffn_norm);
  }
  fn("output_norm.weight", w.final_norm);
  if (layer_norm) fn("output_norm.bias", w.final_norm_bias);
  if (!config.tie_word_embeddings) fn("output.weight", w.lm_head);
}

}  // namespace

const Weight& projection_weight(const LlamaLayer& l, Projection p) {
  const Weight* weights[kProjections] = {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down};
  return *weights[int(p)];
}
Weight& projection_weight(LlamaLayer& l, Projection p) {
  return const_cast<Weight&>(projection_weight(std::as_const(l), p));
}

void for_each_weight(LlamaWeights& weights, const LlamaConfig& config,
                     const std::function<void(const std::string&, Weight&)>& fn) {
  visit_weights(weights, config, fn);
}
void for_each_weight(const LlamaWeights& weights, const LlamaConfig& config,
                     const std::function<void(const std::string&, const Weight&)>& fn) {
  visit_weights(weights, config, fn);
}

void for_each_file_tensor(const LlamaWeights& weights, const LlamaConfig& config,
                          const std::function<void(const std::string&, const std::string&, const Weight&)>& fn) {
  // The parts of each fused tensor by its GGUF name, in row order.
  std::map<std::string, std::map<int64_t, const Weight*>> fused;
  for_each_weight(weights, config, [&](const std::string& name, const Weight& w) {
    if (const std::optional<FusedPlace> place = fused_place(name, config)) fused[place->gguf_name][place->first] = &w;
  });
  for_each_weight(weights, config, [&](const std::string& name, const Weight& w) {
    const std::optional<FusedPlace> place = fused_place(name, config);
    if (!place) return fn(name, hf_tensor_name(name, config), w);
    if (!place->first_part) return;
    std::vector<const Weight*> parts;
    for (const auto& [row, part] : fused.at(place->gguf_name)) parts.push_back(part);
    fn(place->gguf_name, place->hf_name, parts.front()->rows == 1 ? join_vectors(parts) : stack_rows(parts));
  });
}

std::pair<int64_t, int64_t> llama_tensor_shape(const std::string& name, const LlamaConfig& c) {
  const int64_t q_dim = int64_t(c.num_heads) * c.head_dim, kv_dim = int64_t(c.num_kv_heads) * c.head_dim;
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (name == "token_embd.weight" || name == "output.weight") return {c.vocab_size, c.hidden_size};
  if (name == "position_embd.weight") return {c.max_position_embeddings, c.hidden_size};
  if (ends_with("attn_q.bias")) return {1, q_dim};
  if (ends_with("norm.bias") || ends_with("attn_output.bias") || ends_with("ffn_down.bias")) return {1, c.hidden_size};
  if (ends_with("ffn_up.bias")) return {1, c.intermediate_size};
  if (ends_with("attn_k.bias") || ends_with("attn_v.bias")) return {1, kv_dim};
  if (ends_with("attn_q_norm.weight") || ends_with("attn_k_norm.weight")) return {1, c.head_dim};
  if (ends_with("norm.weight")) return {1, c.hidden_size};
  if (ends_with("attn_q.weight")) return {q_dim, c.hidden_size};
  if (ends_with("attn_k.weight") || ends_with("attn_v.weight")) return {kv_dim, c.hidden_size};
  if (ends_with("attn_output.weight")) return {c.hidden_size, q_dim};
  if (ends_with("ffn_gate.weight") || ends_with("ffn_up.weight")) return {c.intermediate_size, c.hidden_size};
  if (ends_with("ffn_down.weight")) return {c.hidden_size, c.intermediate_size};
  WHET_ASSERT(false && "unknown llama tensor name");
  return {0, 0};
}

std::string hf_tensor_name(const std::string& name, const LlamaConfig& c) {
  // Llama's names; a family's own (ModelFamily::hf_names) come first.
  static constexpr NamePart kLlamaNames[] = {
      {"token_embd", "model.embed_tokens"},   {"output_norm", "model.norm"},
      {"output", "lm_head"},                  {"attn_norm", "input_layernorm"},
      {"attn_q", "self_attn.q_proj"},         {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},         {"attn_q_norm", "self_attn.q_norm"},
      {"attn_k_norm", "self_attn.k_norm"},    {"attn_output", "self_attn.o_proj"},
      {"post_attention_norm", "post_attention_layernorm"},
      {"ffn_norm", "post_attention_layernorm"},  // named for following attention
      {"ffn_gate", "mlp.gate_proj"},          {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},          {"post_ffw_norm", "post_feedforward_layernorm"},
  };
  const ModelFamily& family = family_of(c);
  auto hf_part = [&](std::string_view part) -> std::string_view {
    for (std::span<const NamePart> table : {family.hf_names, std::span<const NamePart>(kLlamaNames)})
      for (const NamePart& n : table)
        if (n.gguf == part) return n.hf;
    WHET_ASSERT(false && "unknown llama tensor name");
    return {};
  };
  int layer = -1;
  char part[64] = {0}, kind[8] = {0};
  if (std::sscanf(name.c_str(), "blk.%d.%63[a-z_].%7[a-z]", &layer, part, kind) == 3)
    return fmt::format("{}.{}.{}.{}", family.hf_layers, layer, hf_part(part), kind);
  if (std::sscanf(name.c_str(), "%63[a-z_].%7[a-z]", part, kind) == 2) return fmt::format("{}.{}", hf_part(part), kind);
  WHET_ASSERT(false && "unknown llama tensor name");
  return {};
}

void set_rope_frequencies(LlamaModel& model, const std::vector<float>& divisors) {
  const LlamaConfig& c = model.config;
  const RopeScaling& s = c.rope_scaling;
  const std::vector<float>& longrope = uses_long_rope_factors(c) ? s.long_factors : s.short_factors;
  model.rope_inv_freq = rope_inverse_frequencies(c.head_dim, c.rope_theta, s,
                                                 s.type == RopeScalingType::LongRope ? longrope : divisors);
  model.rope_local_inv_freq.clear();
  if (c.rope_local_theta > 0) model.rope_local_inv_freq = rope_inverse_frequencies(c.head_dim, c.rope_local_theta, {});
}

void offset_norm_weights(LlamaWeights& weights, const LlamaConfig& config, float delta) {
  for_each_weight(weights, config, [&](const std::string& name, Weight& w) {
    if (!name.ends_with("norm.weight")) return;
    Weight shifted = convert_weight(w, DType::F32);  // always a copy the result owns
    float* values = const_cast<float*>(reinterpret_cast<const float*>(shifted.data));
    for (int64_t i = 0; i < shifted.numel(); ++i) values[i] += delta;
    w = shifted;
  });
}

KvCache::KvCache(const LlamaConfig& config, int64_t capacity_, DType dtype_) : capacity(capacity_), dtype(dtype_) {
  if (dtype != DType::F32 && dtype != DType::F16)
    fail("generate", "a KV cache holds F32 or F16, not {}", dtype_name(dtype));
  const size_t n = size_t(config.num_layers) * capacity * config.num_kv_heads * config.head_dim;
  if (dtype == DType::F16) {
    k_f16.resize(n);
    v_f16.resize(n);
  } else {
    k.resize(n);
    v.resize(n);
  }
}

// Both caches are (layers, capacity, width): each layer's first rows are copied.
void copy_cache_prefix(const LlamaConfig& config, const KvCache& from, int64_t positions, KvCache& to) {
  WHET_ASSERT(positions <= from.length && positions <= to.capacity && from.dtype == to.dtype);
  const size_t width = size_t(config.num_kv_heads * config.head_dim), rows = size_t(positions) * width;
  auto copy_rows = [&](const auto& source, auto& target) {
    for (int64_t layer = 0; layer < config.num_layers; ++layer) {
      const size_t at_from = size_t(layer) * size_t(from.capacity) * width;
      const size_t at_to = size_t(layer) * size_t(to.capacity) * width;
      std::copy_n(source.begin() + ptrdiff_t(at_from), rows, target.begin() + ptrdiff_t(at_to));
    }
  };
  if (from.dtype == DType::F16) {
    copy_rows(from.k_f16, to.k_f16);
    copy_rows(from.v_f16, to.v_f16);
  } else {
    copy_rows(from.k, to.k);
    copy_rows(from.v, to.v);
  }
  to.length = positions;
}

namespace {

// Rejects the whole batch before any cache changes. A lone sequence needs no index.
void check_batch(const LlamaConfig& c, std::span<const BatchSequence> batch) {
  for (size_t s = 0; s < batch.size(); ++s) {
    const BatchSequence& seq = batch[s];
    WHET_ASSERT(seq.cache != nullptr);
    const std::string which = batch.size() > 1 ? fmt::format("sequence {}: ", s) : std::string();
    const int64_t t = int64_t(seq.tokens.size()), start = seq.cache->length;
    if (t == 0) fail("generate", "{}no tokens to run", which);
    if (start + t > seq.cache->capacity)
      fail("generate", "{}context full: {} + {} tokens exceed the cache of {}", which, start, t, seq.cache->capacity);
    for (int32_t token : seq.tokens)
      if (token < 0 || token >= c.vocab_size)
        fail("generate", "{}token id {} outside the vocabulary of {}", which, token, c.vocab_size);
    for (size_t other = 0; other < s; ++other)
      if (batch[other].cache == seq.cache) fail("generate", "sequences {} and {} share one KV cache", other, s);
  }
}

// Embedding and every block for the rows of all sequences, one after another;
// returns the residual stream after the last block, (rows, hidden).
std::vector<float> forward_blocks(const LlamaModel& model, std::span<const BatchSequence> batch,
                                  const LlamaLora* lora) {
  const LlamaConfig& c = model.config;
  check_batch(c, batch);
  std::vector<int32_t> ids, positions;
  BlockContext ctx{&model};
  for (const BatchSequence& seq : batch) {
    const int64_t start = seq.cache->length, t = int64_t(seq.tokens.size());
    ids.insert(ids.end(), seq.tokens.begin(), seq.tokens.end());
    for (int64_t i = 0; i < t; ++i) positions.push_back(int32_t(start + i));
    ctx.segments.push_back(AttentionSegment{AttentionShape{t, start, c.num_heads, c.num_kv_heads, c.head_dim}});
  }
  ctx.positions = positions.data();
  const int64_t t = int64_t(ids.size()), hidden = c.hidden_size, q_dim = int64_t(c.num_heads) * c.head_dim;
  const int64_t kv_dim = int64_t(c.num_kv_heads) * c.head_dim, ffn = c.intermediate_size;
  const int64_t rank = lora ? lora->config.rank : 0;

  // One set of buffers serves every layer; the residual stream x is updated in place.
  std::vector<float> x(t * hidden), h(t * hidden), q(t * q_dim), k(t * kv_dim), v(t * kv_dim), att(t * q_dim);
  std::vector<float> proj(t * hidden), gate(c.gated_mlp ? t * ffn : 0), up(t * ffn), lora_hidden(t * rank);
  // The families' extra intermediates: q/k before their norms, a branch before its sandwich norm.
  std::vector<float> q_raw(c.qk_norm ? t * q_dim : 0), k_raw(c.qk_norm ? t * kv_dim : 0);
  std::vector<float> branch_raw(c.sandwich_norms ? t * hidden : 0);
  embed_tokens(model, ids.data(), positions.data(), t, x.data());
  BlockActivations a;
  a.q_raw = q_raw.data();
  a.k_raw = k_raw.data();
  a.attn_raw = a.ffn_raw = branch_raw.data();
  a.x_in = a.x_mid = a.x_out = x.data();
  a.h_attn = a.h_ffn = h.data();
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.att = att.data();
  a.gate = gate.data();
  a.up = a.act = up.data();
  a.proj = proj.data();
  a.lora_hidden.fill(lora_hidden.data());
  for (int layer = 0; layer < c.num_layers; ++layer) {
    ctx.layer = layer;
    for (size_t s = 0; s < batch.size(); ++s) {
      KvCache& cache = *batch[s].cache;
      const size_t layer_at = size_t(layer) * cache.capacity * kv_dim;
      AttentionSegment& segment = ctx.segments[s];
      if (cache.dtype == DType::F16) {
        segment.k_f16 = cache.k_f16.data() + layer_at;
        segment.v_f16 = cache.v_f16.data() + layer_at;
      } else {
        segment.k = cache.k.data() + layer_at;
        segment.v = cache.v.data() + layer_at;
      }
    }
    for (int p = 0; p < kProjections; ++p) ctx.lora[p] = lora_view(lora, nullptr, layer, Projection(p), 0.0f, 0);
    llama_block_forward(ctx, a);
  }
  for (const BatchSequence& seq : batch) seq.cache->length += int64_t(seq.tokens.size());
  return x;
}

// logits (rows.size(), vocab): final norm, LM head and its softcap on the given rows of x (·, hidden).
void head_logits(const LlamaModel& model, const std::vector<float>& x, std::span<const int64_t> rows,
                 std::vector<float>& logits) {
  const LlamaConfig& c = model.config;
  const int64_t n = int64_t(rows.size()), hidden = c.hidden_size;
  std::vector<float> picked(n * hidden), h(n * hidden);
  for (int64_t i = 0; i < n; ++i) std::copy_n(x.data() + rows[i] * hidden, hidden, picked.data() + i * hidden);
  norm_forward(c, h.data(), nullptr, nullptr, picked.data(), model.weights.final_norm, model.weights.final_norm_bias, n);
  logits.resize(size_t(n) * c.vocab_size);
  linear_forward(logits.data(), h.data(), n, model.weights.lm_head);
  softcap_forward(logits.data(), int64_t(logits.size()), c.final_logit_softcap);
}

}  // namespace

void llama_forward(const LlamaModel& model, KvCache& cache, std::span<const int32_t> tokens,
                   std::vector<float>& logits, bool all_logits, const LlamaLora* lora) {
  const BatchSequence one[] = {{&cache, tokens}};
  const std::vector<float> x = forward_blocks(model, one, lora);
  const int64_t t = int64_t(tokens.size());
  std::vector<int64_t> rows(all_logits ? t : 1);
  std::iota(rows.begin(), rows.end(), t - int64_t(rows.size()));
  head_logits(model, x, rows, logits);
}

void llama_forward_batch(const LlamaModel& model, std::span<const BatchSequence> batch, std::vector<float>& logits,
                         const LlamaLora* lora, bool all_logits) {
  if (batch.empty()) {  // a server step with no request in flight
    logits.clear();
    return;
  }
  const std::vector<float> x = forward_blocks(model, batch, lora);
  std::vector<int64_t> rows;
  int64_t end = 0;
  for (const BatchSequence& seq : batch) {
    const int64_t begin = end;
    end += int64_t(seq.tokens.size());
    for (int64_t r = all_logits ? begin : end - 1; r < end; ++r) rows.push_back(r);
  }
  head_logits(model, x, rows, logits);
}

}  // namespace whet
