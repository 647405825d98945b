#include "kernels/weight.h"

#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/huge_pages.h"
#include "kernels/quant.h"

namespace whet {

void weight_row_f32(const Weight& w, int64_t r, float* out) { dequantize(w.dtype, w.row(r), out, w.cols); }

Weight convert_weight(const Weight& w, DType dtype) {
  Weight result{dtype, w.rows, w.cols, nullptr, nullptr};
  auto bytes = std::make_shared<std::vector<uint8_t, HugePageAllocator<uint8_t>>>(size_t(w.rows) * result.row_bytes());
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

Weight stack_rows(const std::vector<const Weight*>& parts) {
  WHET_ASSERT(!parts.empty());
  bool same_dtype = true;
  for (const Weight* p : parts) same_dtype = same_dtype && p->dtype == parts.front()->dtype;
  std::vector<Weight> decoded;  // keeps converted parts alive while they are copied
  Weight result{same_dtype ? parts.front()->dtype : DType::F32, 0, parts.front()->cols, nullptr, nullptr};
  for (const Weight* p : parts) {
    WHET_ASSERT(p->cols == result.cols);
    decoded.push_back(p->dtype == result.dtype ? *p : convert_weight(*p, result.dtype));
    result.rows += p->rows;
  }
  auto bytes = std::make_shared<std::vector<uint8_t>>(size_t(result.rows) * result.row_bytes());
  size_t at = 0;
  for (const Weight& d : decoded) {
    std::memcpy(bytes->data() + at, d.data, size_t(d.rows) * d.row_bytes());
    at += size_t(d.rows) * d.row_bytes();
  }
  result.data = bytes->data();
  result.storage = std::move(bytes);
  return result;
}

Weight join_vectors(const std::vector<const Weight*>& parts) {
  Weight result{DType::F32, 1, 0, nullptr, nullptr};
  for (const Weight* p : parts) {
    WHET_ASSERT(p->rows == 1);
    result.cols += p->cols;
  }
  auto values = std::make_shared<std::vector<float>>(size_t(result.cols));
  int64_t at = 0;
  for (const Weight* p : parts) {
    weight_row_f32(*p, 0, values->data() + at);
    at += p->cols;
  }
  result.data = reinterpret_cast<const uint8_t*>(values->data());
  result.storage = std::move(values);
  return result;
}

Weight transposed(const Weight& w) {
  WHET_ASSERT(!is_quantized(w.dtype));
  const size_t elem = dtype_bytes(w.dtype, 1);
  Weight result{w.dtype, w.cols, w.rows, nullptr, nullptr};
  auto bytes = std::make_shared<std::vector<uint8_t>>(size_t(w.rows) * w.row_bytes());
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c)
      std::memcpy(bytes->data() + (size_t(c) * size_t(w.rows) + size_t(r)) * elem, w.data + (size_t(r) * size_t(w.cols) + size_t(c)) * elem, elem);
  result.data = bytes->data();
  result.storage = std::move(bytes);
  return result;
}

}  // namespace whet
