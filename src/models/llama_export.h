#pragma once
// Writing a loaded model back out, to either world: a Hugging Face directory
// (config.json, model.safetensors, tokenizer files) or a GGUF file laid out as
// llama.cpp expects (llama.* keys, tokenizer.ggml.*, q/k rows permuted); or its
// adapter alone, in PEFT layout or as a llama.cpp GGUF LoRA adapter.
// `whet export`, `merge` and `convert` are all export_model().
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "models/model_loader.h"

namespace whet {

enum class ExportFormat { Hf, Gguf, Peft, GgufLora };
std::optional<ExportFormat> export_format_from_name(std::string_view name);  // "hf", "gguf", "peft", "gguf-lora"
std::string_view export_format_name(ExportFormat format);
// What a user calls the output: "Hugging Face directory", "GGUF", "PEFT adapter directory", ...
std::string_view export_format_description(ExportFormat format);

// "f32", "f16", "bf16", "q8_0", "q4_0", "q5_0", "q5_1": the --dtype spellings.
const std::vector<std::string>& export_dtype_names();
std::optional<DType> export_dtype_from_name(std::string_view name);
std::string export_dtype_name(DType dtype);  // "q4_0"
// f16 for GGUF; f32 for the rest (Hugging Face tools load it as is; adapters are small).
DType default_export_dtype(ExportFormat format);

// Hf and Gguf write the model with loaded.adapter, if any, folded in (the sum
// formed in fp32); Peft and GgufLora write loaded.adapter alone, an error
// naming the model when there is none. Each format accepts its own dtypes:
//   hf        f32, f16, bf16
//   gguf      f32, f16, bf16, q8_0, q4_0, q5_0, q5_1
//   peft      f32
//   gguf-lora f32, f16, bf16, q8_0 (as llama.cpp's convert_lora_to_gguf.py)
// Every file is written atomically.
void export_model(const LoadedModel& loaded, const std::string& output, ExportFormat format, DType dtype);

// The two model writers export_model() uses; loaded.adapter, if any, is merged first.
void export_hf_dir(const LoadedModel& loaded, const std::string& dir, DType dtype);
// Matrices whose rows do not split into blocks of a quantized type fall back to
// F16, as llama.cpp's converter does. With q4_0, q5_0 and q5_1 the output matrix (output.weight,
// or token_embd.weight when tied) is Q8_0: llama-quantize gives it more bits
// (Q6_K, or Q8_0 when its rows do not split into 256-blocks), and Whet does not
// encode Q6_K.
void export_gguf(const LoadedModel& loaded, const std::string& path, DType dtype);

// A matrix as GGUF export stores it: in `wanted`, or F16 when its rows do not
// split into `wanted`'s blocks; a vector (rows == 1) always F32. Shared with the
// GGUF LoRA writer.
Weight gguf_encoded(const Weight& w, DType wanted);

}  // namespace whet
