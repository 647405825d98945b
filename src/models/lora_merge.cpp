#include "models/lora_merge.h"

#include <memory>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"

namespace whet {

namespace {

void merge_projection(Weight& w, const LoraMatrices& m, int64_t rank, float scale) {
  WHET_ASSERT(int64_t(m.a.size()) == rank * w.cols && int64_t(m.b.size()) == w.rows * rank);
  auto merged = std::make_shared<std::vector<float>>(size_t(w.numel()));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < w.rows; ++r) weight_row_f32(w, r, merged->data() + r * w.cols);
  // merged (out, in) += scale · B (out, rank) · A (rank, in)
  const GemmShape shape{false, false, w.rows, w.cols, rank, rank, w.cols, w.cols, scale, 1.0f};
  gemm_f32(shape, m.b.data(), m.a.data(), merged->data());
  const auto* data = reinterpret_cast<const uint8_t*>(merged->data());
  w = Weight{DType::F32, w.rows, w.cols, data, std::move(merged)};
}

}  // namespace

void merge_lora(LlamaModel& model, const LlamaLora& lora) {
  WHET_ASSERT(lora.layers.size() == model.weights.layers.size());
  for (size_t layer = 0; layer < lora.layers.size(); ++layer) {
    for (int p = 0; p < kProjections; ++p) {
      const LoraMatrices& m = lora.layers[layer][p];
      if (m.empty()) continue;
      merge_projection(projection_weight(model.weights.layers[layer], Projection(p)), m, lora.config.rank,
                       lora.config.scale());
    }
  }
}

}  // namespace whet
