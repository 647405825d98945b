#pragma once
// Conversion of tensor rows between the file encodings and fp32.
// Block layouts and formulas follow the GGUF/ggml definitions of each type.
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace whet {

// Decodes `n` consecutive elements (a whole number of blocks) of type `type` into fp32.
// Works for every DType including F32, F16 and BF16.
void dequantize(DType type, const void* src, float* dst, int64_t n);

// Encodes `n` fp32 elements (a whole number of blocks) as `type`.
// Supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1 (as ggml's reference quantizers, byte for
// byte as gguf-py encodes). Others are an internal error.
void quantize(DType type, const float* src, void* dst, int64_t n);

// The 12 scale bytes of a Q4_K/Q5_K super-block as its eight 6-bit scales and eight 6-bit mins.
void unpack_k_scales(const uint8_t* scale_bytes, uint8_t scale[8], uint8_t min[8]);

}  // namespace whet
