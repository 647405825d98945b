// Mistral: the Llama block with sliding-window attention in every layer.
// llama.cpp writes it as GGUF "llama", so only config.json names it.
#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"MistralForCausalLM"};
// transformers' MistralConfig assumes this window when config.json has no "sliding_window";
// an explicit null (Mistral 7B v0.2 onward) means none.
constexpr int kDefaultWindow = 4096;

void from_hf(const Fields& f, LlamaConfig& c) {
  llama_family().from_hf(f, c);
  c.sliding_window = f.has("sliding_window") ? f.positive_integer("sliding_window")
                     : f.present("sliding_window") ? 0
                                                   : kDefaultWindow;
}

void to_hf(const LlamaConfig& c, nlohmann::ordered_json& j) {
  j["hidden_act"] = "silu";
  j["sliding_window"] = c.sliding_window > 0 ? nlohmann::ordered_json(c.sliding_window) : nullptr;
}

}  // namespace

const ModelFamily& mistral_family() {
  static const ModelFamily kFamily{.name = "mistral", .gguf_name = "llama", .hf_class = kClasses[0],
                                   .hf_model_type = "mistral", .hf_classes = kClasses, .gguf_qk_interleaved = true,
                                   .from_gguf = llama_family().from_gguf, .from_hf = from_hf, .to_hf = to_hf,
                                   .to_gguf = llama_family().to_gguf};
  return kFamily;
}

}  // namespace whet
