#pragma once
// Dot products of quantized weight rows with fp32 activations, decoding each
// block of 32 weights in registers. Reading 4.5-8.5 bits per weight and never
// writing the decoded row anywhere is what makes a decode step (a handful of
// input rows against every weight) fast; the activations stay fp32, so the
// result equals fp32 arithmetic on the decoded weights up to summation order.
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace whet {

// Weight encodings with a fused dot product.
bool has_fused_dot(DType type);

// Σ x over each block of 32 of an activation row of n elements (n a multiple of
// 32): the blocks' weight offsets (Q4_0's -8·d, Q5_0's -16·d, the minimum of
// Q4_1 and Q5_1) multiply these.
std::vector<float> activation_block_sums(const float* x, int64_t n);

// Σ_j w[j]·x[j] for one weight row of n elements encoded as `type` (has_fused_dot).
float fused_dot(DType type, const uint8_t* weight_row, const float* x, const float* block_sums, int64_t n);
// The same for m activation rows x (m, n) with their block sums (m, n / 32):
// out[i · out_stride] for row i. Each block of the weight row is decoded once
// for up to eight activation rows (sixteen with AVX-512), so batched decoding reads and unpacks the
// weights once per step rather than once per sequence.
void fused_dots(DType type, const uint8_t* weight_row, const float* x, const float* block_sums, int64_t m, int64_t n,
                float* out, int64_t out_stride);
// The same sum decoded block by block in double precision: the reference of fused_dot.
double fused_dot_reference(DType type, const uint8_t* weight_row, const float* x, int64_t n);

}  // namespace whet
