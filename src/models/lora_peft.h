#pragma once
// LoRA adapters in Hugging Face PEFT's directory layout: adapter_config.json
// and adapter_model.safetensors with PEFT's tensor names, so an adapter trained
// here loads in PEFT (PeftModel.from_pretrained) and one trained there loads here.
#include <string>

#include "models/lora_adapter.h"

namespace whet {

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (each atomically)
// for `lora`, trained on a model of `model`'s shape. The modules are the model's
// own (Phi-3's qkv_proj, gate_up_proj); a fused module holds its parts' adapters
// stacked (lora_modules.h) under rank_pattern and alpha_pattern entries.
void save_peft_adapter(const LlamaLora& lora, const LlamaConfig& model, const std::string& dir,
                       const std::string& base_model);
// Reads a PEFT LoRA adapter for a model of `model`'s shape. Ranks and alphas that
// differ by module (rank_pattern, alpha_pattern, matched as PEFT 0.13 matches
// them) become Whet's one rank, the largest, with zero padding and each module's
// scale folded into its B: the same update. Features that would change the
// arithmetic (DoRA, biases, extra trained modules) are errors naming the file and
// field, as are missing or misshapen tensors.
LlamaLora load_peft_adapter(const std::string& dir, const LlamaConfig& model);

}  // namespace whet
