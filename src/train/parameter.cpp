#include "train/parameter.h"

#include "core/dtype.h"

namespace whet {

void refresh_bf16_copy(const Parameter& p) {
  if (!p.bf16_copy) return;
#pragma omp parallel for simd schedule(static) if (p.numel >= (1 << 16))
  for (int64_t i = 0; i < p.numel; ++i) p.bf16_copy[i] = f32_to_bf16(p.value[i]);
}

}  // namespace whet
