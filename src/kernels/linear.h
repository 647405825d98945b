#pragma once
// Linear layer without bias: out[m, w.rows] = inp[m, w.cols] * Wᵀ.
// fp32 weights go straight to oneDNN's sgemm. Against the few input rows of a
// decode step (up to 32), quantized weights are decoded in registers inside the
// dot product (quant_dot.h), from 5 to 512 rows on AMX tiles where the CPU has
// them (quant_tiles.h), and other encodings row by row into scratch. For more rows, bf16
// weights use the bf16 gemm (activations rounded to bf16, fp32 accumulation) and
// fp16 and quantized weights are decoded as a whole matrix into scratch.
#include <cstdint>
#include <memory>
#include <span>

#include "kernels/weight.h"

namespace whet {

// inp is (m, w.cols), out is (m, w.rows)
void linear_forward(float* out, const float* inp, int64_t m, const Weight& w);
// Several weights' products with the same input rows (a layer's q, k and v; gate
// and up): out = inp·Wᵀ for each. Where they multiply on AMX tiles, the input's
// tiles are made once for all of them and one parallel loop takes every weight's
// rows; otherwise each goes as linear_forward above.
struct WeightProduct {
  float* out;
  const Weight* w;
};
void linear_forward(std::span<const WeightProduct> products, const float* inp, int64_t m);
// An input of the products: fp32 values and, where whoever made them rounded them
// to bf16 already (once for q, k and v; in the activation's own pass), that
// copy, which products multiplying in bf16 take instead of rounding again.
struct Activation {
  const float* values = nullptr;
  const uint16_t* bf16 = nullptr;
  Activation(const float* v, const uint16_t* rounded = nullptr) : values(v), bf16(rounded) {}  // NOLINT: implicit
};

// dinp (m, w.cols) = dout·W, or += with accumulate (q, k and v share one input).
// dweight (w.rows, w.cols) += doutᵀ·inp when not null, for fp32 weights, or a
// bf16 copy of fp32 masters (then both products run in bf16, summed in fp32, on
// dout's and inp's roundings, made here where they come without). A bf16 weight
// given dout's rounding multiplies that and does not read dout's values.
void linear_backward(float* dinp, float* dweight, Activation dout, Activation inp, int64_t m, const Weight& w,
                     bool accumulate);
// Whether w's products take their activations rounded to bf16 (a bf16 weight on a
// CPU with bf16 units); a caller that multiplies the same activations twice (LoRA
// beside the base, kernels/lora.h) rounds them once and passes them rounded.
bool multiplies_in_bf16(const Weight& w);
// Lays out a bf16 weight once as its input gradients' operand
// (Weight::packed_for_input_gradients), for a weight that will not change from
// now on; others are left as they are. Costs the weight's memory again.
void pack_for_input_gradients(Weight& w);
// n values rounded to bf16, in a buffer nobody clears first (every element is written).
std::unique_ptr<uint16_t[]> rounded_to_bf16(const float* a, int64_t n);
// The same into out (n).
void round_to_bf16(uint16_t* out, const float* a, int64_t n);
// linear_forward on activations already rounded.
void linear_forward(float* out, const uint16_t* inp_bf16, int64_t m, const Weight& w);

// Decodes every row and multiplies in double precision: the reference for all encodings.
void linear_forward_reference(float* out, const float* inp, int64_t m, const Weight& w);

}  // namespace whet
