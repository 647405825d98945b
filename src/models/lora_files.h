#pragma once
// An adapter from either of the layouts other tools write: a PEFT directory or
// a llama.cpp GGUF LoRA file, told apart by what the path is.
#include <string>

#include "models/lora_adapter.h"

namespace whet {

LlamaLora load_lora_adapter(const std::string& path, const LlamaConfig& model);

}  // namespace whet
