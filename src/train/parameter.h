#pragma once
// The one description of a trainable tensor that optimisers, gradient clipping and
// checkpointing walk, whether it is a full weight or a LoRA adapter matrix.
#include <cstdint>
#include <string>

namespace whet {

// A view: value and grad belong to whoever owns the tensor (the model or the adapter),
// which keeps them alive for as long as an optimiser holds the view.
struct Parameter {
  std::string name;     // e.g. "blk.3.attn_q.weight" or "blk.3.attn_q.lora_a"
  float* value = nullptr;
  float* grad = nullptr;
  int64_t numel = 0;
  bool decay = true;    // weight decay applies (false for norms and biases by default)
  // Full fine-tuning with bf16 compute: the bf16 copy of value that the steps multiply.
  // Whatever writes value writes it too (the optimiser's update, a checkpoint's load,
  // data-parallel's start), so it is always value rounded. Null: none.
  uint16_t* bf16_copy = nullptr;
};

// value rounded into bf16_copy (nothing without one), after value was written other than by the optimiser.
void refresh_bf16_copy(const Parameter& p);

}  // namespace whet
