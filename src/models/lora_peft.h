#pragma once
// LoRA adapters in Hugging Face PEFT's directory layout: adapter_config.json
// and adapter_model.safetensors with PEFT's tensor names, so an adapter trained
// here loads in PEFT (PeftModel.from_pretrained) and one trained there loads here.
#include <string>

#include "models/lora_adapter.h"

namespace whet {

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (each atomically).
void save_peft_adapter(const LlamaLora& lora, const std::string& dir, const std::string& base_model);
// Reads a PEFT LoRA adapter for a model of `model`'s shape. Features that would
// change the arithmetic (DoRA, biases, per-module ranks, extra trained modules)
// are errors naming the file and field, as are missing or misshapen tensors.
LlamaLora load_peft_adapter(const std::string& dir, const LlamaConfig& model);

}  // namespace whet
