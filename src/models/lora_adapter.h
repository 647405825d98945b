#pragma once
// LoRA adapters: which projections of a block carry one, and their fp32 A and B
// matrices, one adapter per projection at one rank. Their names are those of the
// PEFT layout of an unfused model (base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight),
// which the optimiser and checkpoints use too; the adapter files of a family that
// fuses projections hold them stacked per fused module (lora_modules.h).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/lora.h"
#include "models/llama_config.h"

namespace whet {

// The projections of a block, in the order every per-layer array below uses.
enum class Projection { Q, K, V, O, Gate, Up, Down };
inline constexpr int kProjections = 7;
inline constexpr std::array<std::string_view, kProjections> kProjectionNames = {"q", "k", "v", "o", "gate", "up", "down"};
// "q" or PEFT's "q_proj"; nullopt when neither.
std::optional<Projection> projection_from_name(std::string_view name);
// (out, in) of a projection.
std::pair<int64_t, int64_t> projection_shape(const LlamaConfig& c, Projection p);

struct LoraConfig {
  int rank = 16;
  float alpha = 32.0f;
  float dropout = 0.05f;
  bool rslora = false;  // scale alpha/sqrt(rank) instead of alpha/rank
  std::vector<Projection> targets = {Projection::Q, Projection::K, Projection::V, Projection::O};
  // Chosen at use time (--adapter-scale), not trained or saved: multiplies the
  // update, so 0 leaves the base as it is and 1 is the adapter as trained.
  float strength = 1.0f;
  float scale() const;  // of the update B·A: alpha / rank (or / sqrt(rank)), times strength
};

// A (rank, in) and B (out, rank); both empty for a projection without an adapter.
struct LoraMatrices {
  std::vector<float> a, b;
  bool empty() const { return a.empty(); }
};

struct LlamaLora {
  LoraConfig config;
  std::vector<std::array<LoraMatrices, kProjections>> layers;
};

// PEFT's initialisation: A uniform in ±1/sqrt(in) (kaiming-uniform with a = sqrt(5)), B zero.
LlamaLora make_lora(const LlamaConfig& model, const LoraConfig& config, uint64_t seed);
// Same shapes, all zero: the gradient buffers of an adapter.
LlamaLora zeros_like(const LlamaLora& lora);
void zero_lora(LlamaLora& lora);
// dst += w · src, tensor by tensor (adapters of one layout); w 0: nothing.
void add_scaled_lora(LlamaLora& dst, const LlamaLora& src, float w);

// Calls fn(name, tensor, rows, cols) for every A and B, in layer order, named per projection as above.
void for_each_lora_tensor(LlamaLora& lora, const std::function<void(const std::string&, std::vector<float>&, int64_t, int64_t)>& fn);

// The kernel's view of one projection's adapter; grads may be null (inference).
LoraView lora_view(const LlamaLora* lora, LlamaLora* grads, int layer, Projection p, float dropout, uint64_t seed);

}  // namespace whet
