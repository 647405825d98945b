#pragma once
// A linear layer with an optional LoRA update beside its frozen weight:
//   out = inp·Wᵀ + scale · dropout(inp)·Aᵀ·Bᵀ
// Every projection of a model goes through this one pair, so LoRA's forward and
// backward are written once (inference with an unmerged adapter uses it too).
#include <cstdint>
#include <span>

#include "kernels/linear.h"
#include "kernels/weight.h"

namespace whet {

// A (rank, in) and B (out, rank), fp32; rank 0 means no adapter.
struct LoraView {
  const float* a = nullptr;
  const float* b = nullptr;
  float* grad_a = nullptr;  // += in the backward; null when the adapter is frozen
  float* grad_b = nullptr;
  int64_t rank = 0;
  float scale = 1.0f;        // alpha / rank (alpha / sqrt(rank) with rsLoRA)
  float dropout = 0.0f;      // probability of zeroing an input element on the adapter path
  uint64_t dropout_seed = 0; // the mask is a pure function of (seed, element), so backward rebuilds it
  // Where the base multiplies in bf16, the adapter's products over long inner
  // dimensions do too (supervised training: TrainPass::bf16_products); else fp32.
  bool bf16_products = false;
};

// out (m, w.rows); lora_hidden (m, rank) receives dropout(inp)·Aᵀ for the backward (needed when rank > 0).
void projection_forward(float* out, float* lora_hidden, Activation inp, int64_t m, const Weight& w,
                        const LoraView& lora);
// dinp (m, w.cols) = (or += with accumulate); dweight += when not null; LoRA gradients +=.
void projection_backward(float* dinp, float* dweight, Activation dout, const float* inp, const float* lora_hidden,
                         int64_t m, const Weight& w, const LoraView& lora, bool accumulate);

// Projections of one input, each with its weight and adapter: a layer's q, k
// and v, or its gate and up. The same as projection_forward (backward) of each,
// but where two or more adapters have no dropout and the rows outnumber their
// ranks together, their products over the input run as one: x·[A₁; A₂; ...]ᵀ
// forward, dhᵀ·x and dh·[A₁; A₂; ...] backward, the input read once for all.
struct ProjectionOutput {
  float* out;          // (m, w->rows)
  float* lora_hidden;  // (m, lora->rank), as projection_forward's
  const Weight* w;
  const LoraView* lora;
};
void projections_forward(std::span<const ProjectionOutput> outputs, Activation inp, int64_t m);
struct ProjectionGradient {
  Activation dout;  // (m, w->rows)
  const float* lora_hidden;
  const Weight* w;
  const LoraView* lora;
  float* dweight;  // += when not null
};
// dinp = (or += with accumulate) the sum of their input gradients.
void projections_backward(float* dinp, std::span<const ProjectionGradient> gradients, const float* inp, int64_t m,
                          bool accumulate);

// Whether projection_forward and projection_backward would round their inputs to
// bf16 for this weight and adapter: only then is an Activation's bf16 copy worth making.
bool projection_rounds_inputs(const Weight& w, const LoraView& lora);

}  // namespace whet
