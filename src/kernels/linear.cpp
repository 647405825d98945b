#include "kernels/linear.h"

#include <vector>

#include "kernels/gemm.h"

namespace whet {

namespace {

// Below this many input rows, decoding each weight row once and dotting it with
// every input row beats decoding the whole matrix for a gemm.
constexpr int64_t kRowwiseMaxInputs = 8;

void linear_rowwise_decoded(float* out, const float* inp, int64_t m, const Weight& w) {
#pragma omp parallel
  {
    std::vector<float> row(w.cols);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < w.rows; ++r) {
      weight_row_f32(w, r, row.data());
      for (int64_t i = 0; i < m; ++i) {
        const float* x = inp + i * w.cols;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < w.cols; ++c) sum += x[c] * row[c];
        out[i * w.rows + r] = sum;
      }
    }
  }
}

}  // namespace

void linear_forward(float* out, const float* inp, int64_t m, const Weight& w) {
  const GemmShape shape = linear_shape(m, w.rows, w.cols);
  if (w.dtype == DType::F32) {
    gemm_f32(shape, inp, reinterpret_cast<const float*>(w.data), out);
  } else if (m <= kRowwiseMaxInputs) {
    linear_rowwise_decoded(out, inp, m, w);
  } else if (w.dtype == DType::BF16) {
    std::vector<uint16_t> inp_bf16(size_t(m * w.cols));
    for (size_t i = 0; i < inp_bf16.size(); ++i) inp_bf16[i] = f32_to_bf16(inp[i]);
    gemm_bf16(shape, inp_bf16.data(), reinterpret_cast<const uint16_t*>(w.data), out);
  } else {
    Weight decoded = convert_weight(w, DType::F32);
    gemm_f32(shape, inp, reinterpret_cast<const float*>(decoded.data), out);
  }
}

void linear_forward_reference(float* out, const float* inp, int64_t m, const Weight& w) {
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    weight_row_f32(w, r, row.data());
    for (int64_t i = 0; i < m; ++i) {
      double sum = 0.0;
      for (int64_t c = 0; c < w.cols; ++c) sum += double(inp[i * w.cols + c]) * row[c];
      out[i * w.rows + r] = float(sum);
    }
  }
}

}  // namespace whet
