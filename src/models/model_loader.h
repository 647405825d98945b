#pragma once
// Loads a model from a GGUF file or a Hugging Face directory into one
// in-memory form: config, weights, tokenizer and chat template.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "models/llama.h"
#include "models/lora_adapter.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

// How matrices are held in memory after loading.
enum class WeightFormat {
  Native,  // as stored in the file (mapped, not copied); fp16/quantized rows decoded on use
  F32,     // decoded once at load time
  BF16,    // converted once at load time; bf16 gemm with fp32 accumulation
};
// The encoding that computes fastest on this CPU, `auto`'s choice: bf16 where the CPU
// has bf16 units (1.6 times f32's LoRA training speed with AMX), f32 elsewhere (where
// bf16 is converted on the way). Either is a decoded copy, larger than a quantized file.
WeightFormat fastest_weight_format();
std::optional<WeightFormat> weight_format_from_name(std::string_view name);  // "native", "f32", "bf16", "auto"
std::string_view weight_format_name(WeightFormat f);

struct LoadedModel {
  LlamaModel model;
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;  // none when the model has no (known) template
  std::string path;
  std::string file_format;  // "gguf" or "hf"
  std::map<std::string, int> file_tensor_types;  // dtype name -> tensor count, as stored in the file
  // Applied unmerged on every forward, so the base weights stay shareable and
  // in their file encoding; null without an adapter.
  std::shared_ptr<const LlamaLora> adapter;
};

// Where scripts/fetch_model.sh puts the default model (SmolLM2-135M-Instruct,
// Q4_1 GGUF): $WHET_DEFAULT_MODEL, else $WHET_CACHE or ~/.cache/whet under models/.
std::string default_model_path();

// `path` is a .gguf file or a directory with config.json. Errors name the path
// and the offending tensor or key.
LoadedModel load_model(const std::string& path, WeightFormat format = WeightFormat::Native);

// llama.cpp stores q/k rows interleaved per head (pairs i, i + head_dim/2 side
// by side); these map between that and Hugging Face order. Rows move whole.
Weight unpermute_qk_rows(const Weight& w, int heads);
Weight permute_qk_rows(const Weight& w, int heads);

}  // namespace whet
