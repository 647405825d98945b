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
};

}  // namespace whet
