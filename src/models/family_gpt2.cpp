// GPT-2: learned position embeddings instead of rope, LayerNorm with a bias
// before attention, before the MLP and at the end, a bias on every projection,
// q, k and v fused into one projection (c_attn), an ungated MLP with tanh GELU
// ("gelu_new"), and the LM head tied to the token embeddings. Hugging Face stores
// every block matrix as a Conv1D, [in, out]; its config.json names the
// dimensions its own way (n_embd, n_layer, ...).
#include <fmt/format.h>

#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"GPT2LMHeadModel"};
constexpr std::string_view kQkvParts[] = {"attn_q", "attn_k", "attn_v"};
constexpr FusedTensor kFused[] = {{"attn_qkv", "attn.c_attn", kQkvParts}};
constexpr NamePart kHfNames[] = {
    {"token_embd", "transformer.wte"}, {"position_embd", "transformer.wpe"}, {"output_norm", "transformer.ln_f"},
    {"attn_norm", "ln_1"},             {"attn_output", "attn.c_proj"},       {"ffn_norm", "ln_2"},
    {"ffn_up", "mlp.c_fc"},            {"ffn_down", "mlp.c_proj"},
};
// transformers' GPT2Config defaults.
constexpr float kDefaultEps = 1e-5f;
constexpr int kInnerPerHidden = 4;  // n_inner null: 4 * n_embd

void set_variations(LlamaConfig& c) {
  c.norm = NormKind::Layer;
  c.learned_positions = true;
  c.attention_bias = true;
  c.projection_bias = true;
  c.gated_mlp = false;
  c.activation = GateActivation::GeluTanh;
}

void common_hf_fields(const Fields& f, nlohmann::json& common) {
  const int hidden = f.positive_integer("n_embd");
  common["hidden_size"] = hidden;
  common["num_hidden_layers"] = f.positive_integer("n_layer");
  common["num_attention_heads"] = f.positive_integer("n_head");
  common["max_position_embeddings"] = f.positive_integer("n_positions");
  common["intermediate_size"] = f.positive_integer("n_inner", kInnerPerHidden * hidden);
  // GPT2Config ties the head unless told otherwise.
  if (!f.has("tie_word_embeddings")) common["tie_word_embeddings"] = true;
}

void from_gguf(const GgufFile& g, LlamaConfig& c) {
  set_variations(c);
  c.norm_eps = float(g.get_float("gpt2.attention.layer_norm_epsilon", kDefaultEps));
}

void from_hf(const Fields& f, LlamaConfig& c) {
  set_variations(c);
  expect_activation(f, "activation_function", "gelu_new");
  c.norm_eps = f.positive_number("layer_norm_epsilon", kDefaultEps);
  if (!f.boolean("scale_attn_weights", true))
    fail(f.path(), "field 'scale_attn_weights' is false: attention without the 1/sqrt(head_dim) scale is not supported");
  if (f.boolean("scale_attn_by_inverse_layer_idx", false))
    fail(f.path(), "field 'scale_attn_by_inverse_layer_idx' is true: scaling attention by layer is not supported");
}

// GPT2Config's own names instead of the common ones; it has no key/value heads of
// its own, no head_dim and no rope.
void to_hf(const LlamaConfig& c, nlohmann::ordered_json& j) {
  if (c.num_kv_heads != c.num_heads || c.head_dim * c.num_heads != c.hidden_size)
    fail("export", "GPT-2's config.json has no form for {} key/value heads of {} and head_dim {}", c.num_kv_heads,
         c.num_heads, c.head_dim);
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "head_dim", "max_position_embeddings", "rope_theta", "rope_scaling",
                          "rms_norm_eps"})
    j.erase(key);
  j["n_embd"] = c.hidden_size;
  j["n_inner"] = c.intermediate_size;
  j["n_layer"] = c.num_layers;
  j["n_head"] = c.num_heads;
  j["n_positions"] = c.max_position_embeddings;
  j["layer_norm_epsilon"] = std::stod(fmt::format("{}", c.norm_eps));  // 1e-05, not the float's binary value
  j["activation_function"] = "gelu_new";
}

void to_gguf(const LlamaConfig& c, GgufWriter& out) {
  out.set("gpt2.attention.layer_norm_epsilon", GgufValue::make_f32(c.norm_eps));
}

}  // namespace

const ModelFamily& gpt2_family() {
  static const ModelFamily kFamily{.name = "gpt2", .gguf_name = "gpt2", .hf_class = kClasses[0],
                                   .hf_model_type = "gpt2", .hf_classes = kClasses, .gguf_qk_interleaved = false,
                                   .fused_tensors = kFused, .hf_layers = "transformer.h", .hf_names = kHfNames,
                                   .hf_matrices_transposed = true, .common_hf_fields = common_hf_fields,
                                   .from_gguf = from_gguf, .from_hf = from_hf, .to_hf = to_hf, .to_gguf = to_gguf};
  return kFamily;
}

}  // namespace whet
