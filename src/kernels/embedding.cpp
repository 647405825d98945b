#include "kernels/embedding.h"

#include "core/phase_timer.h"

namespace whet {

void embedding_forward(float* out, const int32_t* tokens, int64_t n, const Weight& w) {
  const PhaseScope phase("embedding forward");
  for (int64_t i = 0; i < n; ++i) weight_row_f32(w, tokens[i], out + i * w.cols);
}

// Rows are few (one sequence) and may repeat a token, so they are added in
// order; the vector width does the work.
void embedding_backward(float* dweight, const float* dout, const int32_t* tokens, int64_t n, int64_t c) {
  const PhaseScope phase("embedding backward");
  for (int64_t i = 0; i < n; ++i) {
    float* row = dweight + int64_t(tokens[i]) * c;
    const float* d = dout + i * c;
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) row[j] += d[j];
  }
}

}  // namespace whet
