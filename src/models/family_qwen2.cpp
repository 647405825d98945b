// Qwen2 and Qwen2.5: the Llama block with biases on the q, k and v projections.
#include "core/error.h"
#include "io/gguf.h"
#include "io/json_fields.h"
#include "models/model_family.h"

namespace whet {

namespace {

constexpr std::string_view kClasses[] = {"Qwen2ForCausalLM"};

void set_variations(LlamaConfig& c) { c.attention_bias = true; }

void from_gguf(const GgufFile&, LlamaConfig& c) { set_variations(c); }

// Qwen2's config carries a sliding window that applies only with use_sliding_window,
// and then to the layers from max_window_layers on.
void from_hf(const Fields& f, LlamaConfig& c) {
  set_variations(c);
  expect_activation(f, "hidden_act", "silu");
  if (!f.boolean("use_sliding_window", false)) return;
  c.sliding_window = f.positive_integer("sliding_window");
  const int first_sliding = f.has("max_window_layers") ? f.positive_integer("max_window_layers") : 0;
  c.sliding_layers.resize(size_t(c.num_layers));
  for (int layer = 0; layer < c.num_layers; ++layer) c.sliding_layers[size_t(layer)] = layer >= first_sliding;
}

void to_hf(const LlamaConfig& c, nlohmann::ordered_json& j) {
  j["hidden_act"] = "silu";
  j["use_sliding_window"] = c.sliding_window > 0;
  if (c.sliding_window == 0) return;
  int first_sliding = 0;
  while (first_sliding < c.num_layers && !c.layer_is_sliding(first_sliding)) ++first_sliding;
  j["sliding_window"] = c.sliding_window;
  j["max_window_layers"] = first_sliding;
}

void to_gguf(const LlamaConfig& c, GgufWriter&) {
  if (c.sliding_window > 0)
    fail("export", "a Qwen2 model with sliding-window attention has no GGUF form that llama.cpp reads");
}

}  // namespace

const ModelFamily& qwen2_family() {
  static const ModelFamily kFamily{.name = "qwen2", .gguf_name = "qwen2", .hf_class = kClasses[0],
                                   .hf_model_type = "qwen2", .hf_classes = kClasses, .gguf_qk_interleaved = false,
                                   .from_gguf = from_gguf, .from_hf = from_hf, .to_hf = to_hf, .to_gguf = to_gguf};
  return kFamily;
}

}  // namespace whet
