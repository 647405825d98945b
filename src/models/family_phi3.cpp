// Phi-3: the Llama block with q, k and v fused into one projection and the
// gate and up projections into another (gate first), longrope scaling in its
// long-context models, and a sliding window in every layer where configured.
// Whet splits the fused tensors at load (views of the same bytes) and stacks
// them again when it writes the family's files.
#include <cmath>

#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"Phi3ForCausalLM"};
constexpr std::string_view kQkvParts[] = {"attn_q", "attn_k", "attn_v"};
constexpr std::string_view kGateUpParts[] = {"ffn_gate", "ffn_up"};
// llama.cpp stores the stacked gate and up rows under ffn_up.
constexpr FusedTensor kFused[] = {{"attn_qkv", "self_attn.qkv_proj", kQkvParts},
                                  {"ffn_up", "mlp.gate_up_proj", kGateUpParts}};
// transformers' Phi3Config default.
constexpr int kDefaultOriginalContext = 4096;

std::vector<float> gguf_factors(const GgufFile& g, const std::string& name, int pairs) {
  const TensorView* view = g.find_tensor(name);
  if (!view || view->dtype != DType::F32 || view->numel() != pairs)
    fail(g.path(), "tensor '{}' must be F32 with {} values (head_dim / 2)", name, pairs);
  const float* p = reinterpret_cast<const float*>(view->data);
  return std::vector<float>(p, p + pairs);
}

// A file with rope_factors_long.weight and rope_factors_short.weight is scaled by longrope.
void read_gguf_longrope(const GgufFile& g, LlamaConfig& c) {
  if (!g.find_tensor("rope_factors_long.weight") && !g.find_tensor("rope_factors_short.weight")) return;
  RopeScaling& r = c.rope_scaling;
  r.type = RopeScalingType::LongRope;
  r.long_factors = gguf_factors(g, "rope_factors_long.weight", c.head_dim / 2);
  r.short_factors = gguf_factors(g, "rope_factors_short.weight", c.head_dim / 2);
  r.original_max_position_embeddings =
      int(g.get_int("phi3.rope.scaling.original_context_length", c.max_position_embeddings));
  r.attention_factor = float(g.get_float(
      "phi3.rope.scaling.attn_factor",
      longrope_attention_factor(c.max_position_embeddings, r.original_max_position_embeddings)));
}

void from_gguf(const GgufFile& g, LlamaConfig& c) {
  c.sliding_window = int(g.get_int("phi3.attention.sliding_window", 0));
  read_gguf_longrope(g, c);
}

void from_hf(const Fields& f, LlamaConfig& c) {
  llama_family().from_hf(f, c);  // no biases, SiLU
  if (f.has("partial_rotary_factor") && f.positive_number("partial_rotary_factor") != 1.0f)
    fail(f.path(), "field 'partial_rotary_factor' is {}: rotating part of each head is not supported",
         f.positive_number("partial_rotary_factor"));
  c.sliding_window = f.positive_integer("sliding_window", 0);
}

void check_attention_factor(const LlamaConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  const float implied = longrope_attention_factor(c.max_position_embeddings, r.original_max_position_embeddings);
  if (std::fabs(r.attention_factor / implied - 1.0f) > 1e-6f)
    fail("export", "a longrope attention factor of {} (the context implies {}) has no config.json form",
         r.attention_factor, implied);
}

void to_hf(const LlamaConfig& c, nlohmann::ordered_json& j) {
  j["hidden_act"] = "silu";
  j["sliding_window"] = c.sliding_window > 0 ? nlohmann::ordered_json(c.sliding_window) : nullptr;
  const bool longrope = c.rope_scaling.type == RopeScalingType::LongRope;
  if (longrope) check_attention_factor(c);
  j["original_max_position_embeddings"] =
      longrope ? c.rope_scaling.original_max_position_embeddings : kDefaultOriginalContext;
}

void to_gguf(const LlamaConfig& c, GgufWriter& out) {
  if (c.sliding_window > 0) out.set("phi3.attention.sliding_window", GgufValue::make_u32(c.sliding_window));
  const RopeScaling& r = c.rope_scaling;
  if (r.type != RopeScalingType::LongRope) return;
  out.set("phi3.rope.scaling.original_context_length", GgufValue::make_u32(r.original_max_position_embeddings));
  out.set("phi3.rope.scaling.attn_factor", GgufValue::make_f32(r.attention_factor));
  for (const auto& [name, factors] : {std::pair{"rope_factors_long.weight", &r.long_factors},
                                      std::pair{"rope_factors_short.weight", &r.short_factors}})
    out.add_tensor(name, DType::F32, {int64_t(factors->size())}, factors->data(), factors->size() * sizeof(float));
}

}  // namespace

const ModelFamily& phi3_family() {
  static const ModelFamily kFamily{.name = "phi3", .gguf_name = "phi3", .hf_class = kClasses[0],
                                   .hf_model_type = "phi3", .hf_classes = kClasses, .gguf_qk_interleaved = false,
                                   .fused_tensors = kFused, .from_gguf = from_gguf, .from_hf = from_hf,
                                   .to_hf = to_hf, .to_gguf = to_gguf};
  return kFamily;
}

}  // namespace whet
