// Gemma 3 (text): the Llama block with a GeGLU MLP, a norm before and after
// both attention and MLP, RMSNorm over each head of q and k, embeddings scaled
// by sqrt(hidden_size), and sliding-window layers interleaved with global ones,
// each kind with its own rope base; attention scores and final logits softcapped
// where a config sets the caps (Gemma 2-style; Gemma 3's own configs do not).
#include <cmath>

#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"Gemma3ForCausalLM"};
// Gemma's norm before the MLP is its own; Llama's is named for following attention.
constexpr NamePart kHfNames[] = {{"ffn_norm", "pre_feedforward_layernorm"}};
// Gemma 3 puts one global layer after every five sliding ones (layers 5, 11, ...).
constexpr int kSlidingPattern = 6;
// The rope base of the sliding layers; llama.cpp assumes it for GGUF files, which do not store it.
constexpr float kLocalRopeTheta = 10000.0f;
// llama.cpp scales Gemma 3 27B's queries by 1/sqrt(hidden / heads) and the others' by
// 1/sqrt(head_dim): the GGUF has no query_pre_attn_scalar, so the 27B is told by its depth.
constexpr int k27bLayers = 62;

// The softcaps' keys, named as llama.cpp names them (<arch>.attn_logit_softcapping); its gemma3
// reads only the final one, and Whet reads both, so a file that sets the first is run as it asks.
constexpr const char* kGgufAttnSoftcap = "gemma3.attn_logit_softcapping";
constexpr const char* kGgufFinalSoftcap = "gemma3.final_logit_softcapping";

// A softcap a GGUF file sets (0: none), refused unless a positive number.
float gguf_softcap(const GgufFile& g, const char* key) {
  if (!g.has(key)) return 0.0f;
  const double cap = g.get_float(key);
  if (!(cap > 0) || !std::isfinite(cap)) fail(g.path(), "{} is {} (expected a positive number)", key, cap);
  return float(cap);
}

// A softcap as config.json holds it: the number, or null for none.
nlohmann::ordered_json softcap_json(float cap) { return cap > 0 ? nlohmann::ordered_json(cap) : nlohmann::ordered_json(); }

// The query scale a GGUF gemma3 file implies, as llama.cpp derives it.
float gguf_query_scale(const LlamaConfig& c) {
  const int scale_dim = c.num_layers == k27bLayers ? c.hidden_size / c.num_heads : c.head_dim;
  return 1.0f / std::sqrt(float(scale_dim));
}

void set_variations(LlamaConfig& c) {
  c.activation = GateActivation::GeluTanh;
  c.qk_norm = true;
  c.sandwich_norms = true;
  c.embedding_scale = std::sqrt(float(c.hidden_size));
  c.norm_weights_offset_by_one = true;
}

std::vector<bool> pattern_layers(int layers, int pattern) {
  std::vector<bool> sliding(size_t(layers), true);
  for (int layer = pattern - 1; layer < layers; layer += pattern) sliding[size_t(layer)] = false;
  return sliding;
}

void from_gguf(const GgufFile& g, LlamaConfig& c) {
  set_variations(c);
  c.attn_logit_softcap = gguf_softcap(g, kGgufAttnSoftcap);
  c.final_logit_softcap = gguf_softcap(g, kGgufFinalSoftcap);
  c.sliding_window = int(g.get_int("gemma3.attention.sliding_window"));
  c.sliding_layers = pattern_layers(c.num_layers, kSlidingPattern);
  c.rope_local_theta = kLocalRopeTheta;
  c.query_scale = gguf_query_scale(c);
}

std::vector<bool> layer_types(const Fields& f, int layers) {
  if (!f.has("layer_types")) return pattern_layers(layers, f.positive_integer("sliding_window_pattern", kSlidingPattern));
  const nlohmann::json& types = f.array("layer_types");
  if (int(types.size()) != layers)
    fail(f.path(), "field 'layer_types' has {} entries for {} layers", types.size(), layers);
  std::vector<bool> sliding;
  for (const nlohmann::json& t : types) {
    if (t != "sliding_attention" && t != "full_attention")
      fail(f.path(), "field 'layer_types' has '{}' (expected sliding_attention or full_attention)", t.dump());
    sliding.push_back(t == "sliding_attention");
  }
  return sliding;
}

void from_hf(const Fields& f, LlamaConfig& c) {
  set_variations(c);
  expect_activation(f, "hidden_activation", "gelu_pytorch_tanh");
  // Gemma 3's own configs set both to null (no cap); Gemma 2-style ones to numbers.
  c.attn_logit_softcap = f.positive_number("attn_logit_softcapping", 0.0f);
  c.final_logit_softcap = f.positive_number("final_logit_softcapping", 0.0f);
  c.query_scale = 1.0f / std::sqrt(f.positive_number("query_pre_attn_scalar", 256.0f));
  c.sliding_window = f.positive_integer("sliding_window", 4096);
  c.sliding_layers = layer_types(f, c.num_layers);
  c.rope_local_theta = f.positive_number("rope_local_base_freq", kLocalRopeTheta);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", true);
}

void to_hf(const LlamaConfig& c, nlohmann::ordered_json& j) {
  j["hidden_activation"] = "gelu_pytorch_tanh";
  j["query_pre_attn_scalar"] = std::lround(1.0 / (double(c.query_scale) * c.query_scale));
  j["sliding_window"] = c.sliding_window;
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  for (int layer = 0; layer < c.num_layers; ++layer)
    types.push_back(c.layer_is_sliding(layer) ? "sliding_attention" : "full_attention");
  j["layer_types"] = types;
  j["rope_local_base_freq"] = c.rope_local_theta;
  j["attn_logit_softcapping"] = softcap_json(c.attn_logit_softcap);
  j["final_logit_softcapping"] = softcap_json(c.final_logit_softcap);
}

void to_gguf(const LlamaConfig& c, GgufWriter& out) {
  if (c.sliding_layers != pattern_layers(c.num_layers, kSlidingPattern) || c.rope_local_theta != kLocalRopeTheta ||
      std::fabs(c.query_scale / gguf_query_scale(c) - 1.0f) > 1e-6f)
    fail("export", "GGUF gemma3 files cannot describe this model's sliding layers, local rope base or query scale");
  // llama.cpp reads a gemma3 file's final softcap but applies no attention softcap to gemma3.
  if (c.attn_logit_softcap > 0)
    fail("export", "GGUF gemma3 files cannot describe this model's attention logit softcapping ({}): llama.cpp "
         "does not apply it to gemma3", c.attn_logit_softcap);
  out.set("gemma3.attention.sliding_window", GgufValue::make_u32(c.sliding_window));
  if (c.final_logit_softcap > 0) out.set(kGgufFinalSoftcap, GgufValue::make_f32(c.final_logit_softcap));
}

}  // namespace

const ModelFamily& gemma3_family() {
  static const ModelFamily kFamily{.name = "gemma3", .gguf_name = "gemma3", .hf_class = kClasses[0],
                                   .hf_model_type = "gemma3_text", .hf_classes = kClasses,
                                   .gguf_qk_interleaved = false, .hf_names = kHfNames, .from_gguf = from_gguf,
                                   .from_hf = from_hf,
                                   .to_hf = to_hf, .to_gguf = to_gguf};
  return kFamily;
}

}  // namespace whet
