#pragma once
// LoRA adapters as llama.cpp's GGUF LoRA files (llama-cli --lora FILE), the
// layout convert_lora_to_gguf.py writes: general.type "adapter", adapter.type
// "lora", adapter.lora.alpha, and per adapted matrix blk.N.attn_q.weight.lora_a
// (A, rank × in; ggml ne [in, rank]) and .lora_b (B, out × rank; ne [rank, out]).
// llama.cpp scales B·A by alpha / rank, rank being B's ne[0], and stores the
// q/k rows of each head interleaved for its rope, so lora_b of attn_q/attn_k
// has its rows permuted exactly as the base weights are. A family that fuses
// projections has one pair per fused tensor (Phi-3's blk.N.attn_qkv.weight, and
// blk.N.ffn_up.weight for gate and up), its parts' adapters stacked as
// lora_modules.h says; the larger rank's smaller scale is made up in B.
#include <string>

#include "core/dtype.h"
#include "models/llama_config.h"
#include "models/lora_adapter.h"

namespace whet {

// Writes `lora`, trained on a model of `model`'s shape, to `path` atomically.
// dtype F32, F16, BF16 or Q8_0 (a matrix whose rows do not split into Q8_0
// blocks, such as B of rank 16, falls back to F16). rsLoRA's alpha/sqrt(rank)
// is written as the alpha that gives the same scale over rank.
void save_gguf_lora(const LlamaLora& lora, const LlamaConfig& model, const std::string& path, DType dtype);

// Reads a GGUF LoRA adapter for a model of `model`'s shape. Every A/B pair must
// belong to a module of a block, and a module adapted in one block must be
// adapted in all. Ranks may differ by pair, as in llama.cpp: Whet's one rank is
// the largest, smaller pairs padded with zeros, each pair's scale folded into B. Anything else (norm vectors,
// token embeddings, a missing half of a pair, misshapen tensors, missing keys)
// is an error naming the file and the tensor or key.
LlamaLora load_gguf_lora(const std::string& path, const LlamaConfig& model);

}  // namespace whet
