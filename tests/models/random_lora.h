#pragma once
// An adapter with random B as well as A: a fresh adapter's B is zero, which
// would hide a wrong row order, a wrong stacking or a wrong scale.
#include <random>

#include "models/lora_adapter.h"

namespace whet::test {

inline LlamaLora random_lora(const LlamaConfig& model, const LoraConfig& config, uint64_t seed) {
  LlamaLora lora = make_lora(model, config, seed);
  std::mt19937 rng(uint32_t(seed + 1));
  std::normal_distribution<float> normal(0.0f, 0.1f);
  for (auto& layer : lora.layers)
    for (LoraMatrices& m : layer)
      for (float& x : m.b) x = normal(rng);
  return lora;
}

}  // namespace whet::test
