#include "kernels/swiglu.h"

#include "kernels/vector_exp.h"

namespace whet {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + vector_exp(-gate[i])) * up[i];
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const float sig = 1.0f / (1.0f + vector_exp(-gate[i]));
    const float silu = gate[i] * sig;
    dup[i] = dout[i] * silu;
    dgate[i] = dout[i] * up[i] * sig * (1.0f + gate[i] * (1.0f - sig));
  }
}

}  // namespace whet
