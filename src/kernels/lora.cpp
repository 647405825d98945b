#include "kernels/lora.h"

#include <memory>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/linear.h"

namespace whet {

namespace {

// splitmix64: a counter-based generator, so element i's mask bit needs no state.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// inp with the adapter's dropout applied (inverted dropout: kept values scaled by
// 1/(1-p)), in `scratch`; without dropout, inp itself, uncopied.
const float* dropped_input(const float* inp, int64_t n, const LoraView& lora, std::vector<float>& scratch) {
  if (lora.dropout <= 0.0f) return inp;
  scratch.resize(size_t(n));
  const float keep_scale = 1.0f / (1.0f - lora.dropout);
  const uint64_t threshold = uint64_t(double(lora.dropout) * 18446744073709551615.0);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    scratch[i] = mix(lora.dropout_seed ^ mix(uint64_t(i))) < threshold ? 0.0f : inp[i] * keep_scale;
  return scratch.data();
}

}  // namespace

void projection_forward(float* out, float* lora_hidden, const float* inp, int64_t m, const Weight& w,
                        const LoraView& lora) {
  linear_forward(out, inp, m, w);
  if (lora.rank == 0) return;
  std::vector<float> scratch;
  gemm_f32(linear_shape(m, lora.rank, w.cols), dropped_input(inp, m * w.cols, lora, scratch), lora.a, lora_hidden);
  GemmShape up = linear_shape(m, w.rows, lora.rank);
  up.alpha = lora.scale;
  up.beta = 1.0f;
  gemm_f32(up, lora_hidden, lora.b, out);
}

// With h = dropout(x)·Aᵀ: dB += scale·doutᵀ·h; dh = scale·dout·B; dA += dhᵀ·dropout(x);
// dx += dropout'(dh·A), where dropout' applies the same mask and scale.
void projection_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* lora_hidden,
                         int64_t m, const Weight& w, const LoraView& lora, bool accumulate) {
  linear_backward(dinp, dweight, dout, inp, m, w, accumulate);
  if (lora.rank == 0) return;
  const int64_t r = lora.rank, in = w.cols, out = w.rows;
  if (lora.grad_b) gemm_f32(GemmShape{true, false, out, r, m, out, r, r, lora.scale, 1.0f}, dout, lora_hidden, lora.grad_b);
  std::vector<float> d_hidden(size_t(m * r));
  gemm_f32(GemmShape{false, false, m, r, out, out, r, r, lora.scale, 0.0f}, dout, lora.b, d_hidden.data());
  std::vector<float> scratch;
  if (lora.grad_a)
    gemm_f32(GemmShape{true, false, r, in, m, r, in, in, 1.0f, 1.0f}, d_hidden.data(),
             dropped_input(inp, m * in, lora, scratch), lora.grad_a);
  // dx += dropout'(dh·A); without dropout straight into dinp, with no (m, in) buffer and pass.
  GemmShape d_input{false, false, m, in, r, r, in, in, 1.0f, 1.0f};
  if (lora.dropout <= 0.0f) return gemm_f32(d_input, d_hidden.data(), lora.a, dinp);
  // The mask is linear: apply it to the gradient by running the same dropout on it.
  d_input.beta = 0.0f;
  std::unique_ptr<float[]> d_dropped(new float[size_t(m * in)]);  // written whole by the beta-0 gemm
  gemm_f32(d_input, d_hidden.data(), lora.a, d_dropped.get());
  const float* d_x = dropped_input(d_dropped.get(), m * in, lora, scratch);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < m * in; ++i) dinp[i] += d_x[i];
}

}  // namespace whet
