#pragma once
// A weight matrix [rows = out features, cols = in features] in any file
// encoding: fp32, bf16, fp16 or a ggml block quantization. Rows are independent
// (blocks never straddle rows), so a row can be dequantized, copied or
// permuted on its own.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dtype.h"

namespace whet {

struct PackedBf16;  // kernels/gemm.h

struct Weight {
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  const uint8_t* data = nullptr;
  // Owner of `data` when the weight was converted or copied; null when `data`
  // points into a mapped model file that the model keeps alive.
  std::shared_ptr<const void> storage;
  // For a bf16 weight that stays unchanged (a frozen base), W as the right operand
  // of the input gradients' products dout·W, laid out once
  // (pack_for_input_gradients, kernels/linear.h). Null otherwise.
  std::shared_ptr<const PackedBf16> packed_for_input_gradients;

  size_t row_bytes() const { return dtype_bytes(dtype, cols); }
  const uint8_t* row(int64_t r) const { return data + size_t(r) * row_bytes(); }
  int64_t numel() const { return rows * cols; }
};

// A copy of `w` encoded as `dtype`, in memory the result owns.
Weight convert_weight(const Weight& w, DType dtype);
// The rows of `parts` one after another (equal cols), in memory the result owns;
// parts encoded differently are all decoded to F32 first.
Weight stack_rows(const std::vector<const Weight*>& parts);
// The values of 1-row `parts` one after another (a fused bias), F32, in memory the result owns.
Weight join_vectors(const std::vector<const Weight*>& parts);
// w's transpose (cols, rows), same encoding, in memory the result owns; w not block-quantized.
Weight transposed(const Weight& w);
// Decodes row r into out[cols].
void weight_row_f32(const Weight& w, int64_t r, float* out);

}  // namespace whet
