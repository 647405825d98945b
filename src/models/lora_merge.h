#pragma once
// Folding a LoRA adapter into its base model (W += scale·B·A), so the result is
// an ordinary model that every tool reads and that runs at the base's speed.
#include "models/llama.h"
#include "models/lora_adapter.h"

namespace whet {

// Every adapted projection becomes an fp32 matrix in storage of its own (whatever
// its encoding was), so a weight sharing storage with another model or pointing
// into a mapped file is never written through. `lora` must fit `model`'s shape.
void merge_lora(LlamaModel& model, const LlamaLora& lora);

}  // namespace whet
