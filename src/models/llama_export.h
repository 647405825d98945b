#pragma once
// Writing a loaded model back out, to either world: a Hugging Face directory
// (config.json, model.safetensors, tokenizer files) or a GGUF file laid out as
// llama.cpp expects (llama.* keys, tokenizer.ggml.*, q/k rows permuted).
#include <string>

#include "core/dtype.h"
#include "models/model_loader.h"

namespace whet {

// dtype: F32, F16 or BF16 for the matrices; norms are always F32.
void export_hf_dir(const LoadedModel& model, const std::string& dir, DType dtype);
// dtype: F32, F16, BF16 or Q8_0 (a matrix whose rows do not split into Q8_0
// blocks falls back to F16, as llama.cpp's converter does); norms are F32.
void export_gguf(const LoadedModel& model, const std::string& path, DType dtype);

}  // namespace whet
