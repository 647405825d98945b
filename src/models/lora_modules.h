#pragma once
// The modules adapter files put LoRA on, and how Whet's adapters map onto them.
// Whet has one adapter per projection (q, k, v, o, gate, up, down). A family
// whose files fuse projections (Phi-3's qkv_proj and gate_up_proj) has one
// module for the fused tensor, so PEFT and llama.cpp put one adapter there.
// Writing stacks the parts' adapters exactly: m adapted parts of rank r give
// A (m·r, in), the parts' A one below the other, and a block-diagonal
// B (all rows, m·r) with zero rows for parts without an adapter. Reading gives
// every part of a module the whole A and its own rows of B, padded with zeros
// to Whet's one rank and with the module's scale folded into B, so that each
// projection changes by exactly what the file says.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/lora_adapter.h"

namespace whet {

struct AdapterModule {
  std::string hf_path;            // inside a layer: "self_attn.qkv_proj", GPT-2's "attn.c_attn"
  std::string gguf_part;          // blk.N.<gguf_part>.weight: "attn_qkv"
  std::vector<Projection> parts;  // Whet's projections whose rows it holds, stacked in this order
  // PEFT's target module name: the path's last component ("qkv_proj"), or the
  // whole path where two modules of the block share that ("attn.c_proj").
  std::string target;
};

// The family's modules in block order: its fused tensors in place of their parts
// (no gate on an ungated MLP).
std::vector<AdapterModule> adapter_modules(const LlamaConfig& model);
// (out, in) of a module: the rows of all its parts, their one input width.
std::pair<int64_t, int64_t> module_shape(const LlamaConfig& model, const AdapterModule& module);
// The projection's own module inside a layer of a Llama-family Hugging Face model:
// "self_attn.q_proj", hf_tensor_name's name for it (for_each_lora_tensor names
// every family's adapters so).
std::string hf_module_path(Projection p);

// One module's adapter as files hold it; rank 0 when the module has none.
struct ModuleLora {
  int64_t rank = 0;
  std::vector<float> a, b;  // A (rank, in), B (rows of all parts, rank)
  double scale = 0;         // of B·A in the file's own terms (PEFT's alpha / r, llama.cpp's alpha / rank)
};

// The module's parts' adapters in one layer stacked as described above; its
// scale is the adapter's (lora.config.scale()), whatever the stacked rank. Parts
// that share one A (all parts of a module read from a file) keep it once, at rank r.
ModuleLora stack_parts(const LlamaLora& lora, const LlamaConfig& model, int layer, const AdapterModule& module);

// Whet's adapter holding modules[layer][i] (for adapter_modules(model)[i]) exactly.
// `defaults` gives dropout, rsLoRA and, through its scale(), the scale Whet's
// adapter keeps; its rank becomes the largest module rank, its alpha whatever
// keeps that scale there, and every module's own scale is folded into its B.
// Callers have checked that a module has an adapter in all layers or in none.
LlamaLora lora_from_modules(const LlamaConfig& model, const std::vector<std::vector<ModuleLora>>& modules,
                            LoraConfig defaults);

}  // namespace whet
