#include "kernels/weight.h"

#include <vector>

#include "kernels/quant.h"

namespace whet {

void weight_row_f32(const Weight& w, int64_t r, float* out) { dequantize(w.dtype, w.row(r), out, w.cols); }

Weight convert_weight(const Weight& w, DType dtype) {
  Weight result{dtype, w.rows, w.cols, nullptr, nullptr};
  auto bytes = std::make_shared<std::vector<uint8_t>>(size_t(w.rows) * result.row_bytes());
  uint8_t* dst = bytes->data();
#pragma omp parallel
  {
    std::vector<float> row(w.cols);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < w.rows; ++r) {
      weight_row_f32(w, r, row.data());
      quantize(dtype, row.data(), dst + size_t(r) * result.row_bytes(), w.cols);
    }
  }
  result.data = dst;
  result.storage = std::move(bytes);
  return result;
}

}  // namespace whet
