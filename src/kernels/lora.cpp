#include "kernels/lora.h"

#include <memory>
#include <vector>

#include "core/error.h"
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

// One operand of the adapter's products: its fp32 values and the scale its
// products take (as gemm's alpha), and, where it has been rounded to bf16, its
// values times that scale, rounded.
struct Operand {
  const float* f32 = nullptr;
  float scale = 1.0f;
  const uint16_t* bf16 = nullptr;
};

// The adapter's products beside a base that multiplies in bf16 run in bf16 (fp32
// sums, as PyTorch's autocast runs them) where that pays: where the inner dimension
// is long (in, out or the rows) and its operands are rounded already or small.
// Products over the rank (16 terms) gained nothing on AMX, and the input's
// rounding again for dA cost more than its product saved, so those stay fp32
// (`whet bench train --profile`, docs/performance.md). Operands rounded here live
// as long as this object.
class Products {
 public:
  Products(const Weight& base, const LoraView& lora) : bf16_(lora.bf16_products && multiplies_in_bf16(base)) {}

  // Values as an fp32 operand whose products take `scale`.
  static Operand take(const float* values, float scale = 1.0f) { return {values, scale, nullptr}; }
  // The same, and rounded to bf16 with the scale folded in where the base multiplies
  // in bf16 (`given`: those values rounded already, at scale 1).
  Operand rounded(const float* values, int64_t n, float scale = 1.0f, const uint16_t* given = nullptr) {
    Operand operand = take(values, scale);
    if (!bf16_) return operand;
    if (scale == 1.0f && given) {
      operand.bf16 = given;
      return operand;
    }
    if (scale == 1.0f) {
      operand.bf16 = rounded_.emplace_back(rounded_to_bf16(values, n)).get();
      return operand;
    }
    std::vector<float> scaled(values, values + n);  // B or h: out or m times the rank
    for (float& v : scaled) v *= scale;
    operand.bf16 = rounded_.emplace_back(rounded_to_bf16(scaled.data(), n)).get();
    return operand;
  }

  // c = a·b: in bf16 when both operands have been rounded, their scales folded
  // in (oneDNN's bf16 products with an output scale run a slower kernel); else
  // in fp32, the scales as alpha. Shapes come with alpha 1.
  static void gemm(GemmShape shape, Operand a, Operand b, float* c) {
    WHET_ASSERT(shape.alpha == 1.0f);
    if (a.bf16 && b.bf16) return gemm_bf16(shape, a.bf16, b.bf16, c);
    shape.alpha = a.scale * b.scale;
    gemm_f32(shape, a.f32, b.f32, c);
  }

 private:
  bool bf16_;
  std::vector<std::unique_ptr<uint16_t[]>> rounded_;
};

}  // namespace

bool projection_rounds_inputs(const Weight& w, const LoraView& lora) {
  return multiplies_in_bf16(w) && (lora.rank == 0 || lora.bf16_products);
}

void projection_forward(float* out, float* lora_hidden, Activation inp, int64_t m, const Weight& w,
                        const LoraView& lora) {
  if (lora.rank == 0) {
    if (inp.bf16 && multiplies_in_bf16(w)) return linear_forward(out, inp.bf16, m, w);
    return linear_forward(out, inp.values, m, w);
  }
  const int64_t r = lora.rank, in = w.cols;
  Products products(w, lora);
  // The base's input, rounded once for its product and the adapter's A where they multiply in bf16.
  const Operand x = products.rounded(inp.values, m * in, 1.0f, inp.bf16);
  if (x.bf16) {
    linear_forward(out, x.bf16, m, w);
  } else {
    linear_forward(out, inp.values, m, w);
  }
  std::vector<float> scratch;
  const Operand adapter_x =
      lora.dropout > 0.0f ? products.rounded(dropped_input(inp.values, m * in, lora, scratch), m * in) : x;
  Products::gemm(linear_shape(m, r, in), adapter_x, products.rounded(lora.a, r * in), lora_hidden);
  GemmShape up = linear_shape(m, w.rows, r);
  up.beta = 1.0f;
  Products::gemm(up, Products::take(lora_hidden), Products::take(lora.b, lora.scale), out);
}

// With h = dropout(x)·Aᵀ: dB += scale·doutᵀ·h; dh = scale·dout·B; dA += dhᵀ·dropout(x);
// dx += dropout'(dh·A), where dropout' applies the same mask and scale.
void projection_backward(float* dinp, float* dweight, Activation dout, const float* inp, const float* lora_hidden,
                         int64_t m, const Weight& w, const LoraView& lora, bool accumulate) {
  if (lora.rank == 0) {
    if (dout.bf16 && !dweight && multiplies_in_bf16(w))
      return linear_backward_input(dinp, dout.bf16, m, w, accumulate);
    return linear_backward(dinp, dweight, dout.values, inp, m, w, accumulate,
                           multiplies_in_bf16(w) ? dout.bf16 : nullptr);
  }
  const int64_t r = lora.rank, in = w.cols, out = w.rows;
  Products products(w, lora);
  const Operand d_out = products.rounded(dout.values, m * out, 1.0f, dout.bf16);
  // A frozen base (dweight null) needs only its input gradient: on dout as rounded for the adapter.
  if (d_out.bf16 && !dweight) {
    linear_backward_input(dinp, d_out.bf16, m, w, accumulate);
  } else {
    linear_backward(dinp, dweight, dout.values, inp, m, w, accumulate);
  }
  if (lora.grad_b)
    Products::gemm(GemmShape{true, false, out, r, m, out, r, r, 1.0f, 1.0f}, d_out,
                   products.rounded(lora_hidden, m * r, lora.scale), lora.grad_b);
  std::vector<float> d_hidden(size_t(m * r));
  Products::gemm(GemmShape{false, false, m, r, out, out, r, r, 1.0f, 0.0f}, d_out,
                 products.rounded(lora.b, out * r, lora.scale), d_hidden.data());
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
