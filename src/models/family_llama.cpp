// Llama 2/3 and SmolLM: the plain block every other family varies.
#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"LlamaForCausalLM"};

// A plain block has no biases and a SiLU-gated MLP; configs that ask for more are refused.
void from_hf(const Fields& f, LlamaConfig&) {
  for (const char* bias : {"attention_bias", "mlp_bias"})
    if (f.boolean(bias, false)) fail(f.path(), "field '{}' is true, but Llama blocks have no biases", bias);
  expect_activation(f, "hidden_act", "silu");
}

// llama.cpp writes Mistral as "llama": a file that gives a window is a Mistral model,
// and is written back to config.json as one.
void from_gguf(const GgufFile& g, LlamaConfig& c) {
  c.sliding_window = int(g.get_int("llama.attention.sliding_window", 0));
  if (c.sliding_window > 0) c.family = mistral_family().name;
}

void to_hf(const LlamaConfig&, nlohmann::ordered_json& j) {
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["mlp_bias"] = false;
}

void to_gguf(const LlamaConfig& c, GgufWriter& out) {
  if (c.sliding_window > 0) out.set("llama.attention.sliding_window", GgufValue::make_u32(c.sliding_window));
}

}  // namespace

const ModelFamily& llama_family() {
  static const ModelFamily kFamily{.name = "llama", .gguf_name = "llama", .hf_class = kClasses[0],
                                   .hf_model_type = "llama", .hf_classes = kClasses, .gguf_qk_interleaved = true,
                                   .from_gguf = from_gguf, .from_hf = from_hf, .to_hf = to_hf, .to_gguf = to_gguf};
  return kFamily;
}

}  // namespace whet
