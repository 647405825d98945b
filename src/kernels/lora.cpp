#include "kernels/lora.h"

#include <algorithm>
#include <memory>
#include <span>
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
  explicit Products(bool bf16) : bf16_(bf16) {}

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

// The adapters among projections of one input, and how their products run: all in
// bf16 or all in fp32 (a layer's projections share their encoding and adapter settings).
// Those without dropout see the input itself, so their first products stack
// into one: x·[A₁; A₂; ...]ᵀ, dhᵀ·x and dh·[A₁; A₂; ...], the input read once
// for all of them, not once each (a LoRA step's dA products over q, k and v read
// a 1.2 MB input that had left the cache three times). That pays where there
// are two or more and the input is larger than the A's copied to stack them:
// more rows than their ranks together (not a decode step's few rows). The rest
// go alone.
template <typename Projection>
struct Adapters {
  std::vector<const Projection*> stacked, alone;
  int64_t rank = 0;  // of the stacked, together
  bool bf16 = false;

  Adapters(std::span<const Projection> projections, int64_t m) {
    bool first = true;
    for (const Projection& p : projections) {
      if (p.lora->rank == 0) continue;
      const bool in_bf16 = p.lora->bf16_products && multiplies_in_bf16(*p.w);
      WHET_ASSERT(first || in_bf16 == bf16);
      bf16 = in_bf16, first = false;
      (p.lora->dropout > 0.0f ? alone : stacked).push_back(&p);
      if (p.lora->dropout <= 0.0f) rank += p.lora->rank;
    }
    if (stacked.size() < 2 || m <= rank) {
      alone.insert(alone.end(), stacked.begin(), stacked.end());
      stacked.clear();
      rank = 0;
    }
  }
  // The stacked adapters' A matrices, their rows one after another.
  std::vector<float> a_rows() const {
    std::vector<float> rows;
    for (const Projection* p : stacked) rows.insert(rows.end(), p->lora->a, p->lora->a + p->lora->rank * p->w->cols);
    return rows;
  }
};

// `columns` values of each of `rows` rows, from rows ld_from apart to rows ld_to apart.
void copy_columns(float* to, int64_t ld_to, const float* from, int64_t ld_from, int64_t rows, int64_t columns) {
  for (int64_t i = 0; i < rows; ++i) std::copy_n(from + i * ld_from, columns, to + i * ld_to);
}

// The base's product: on the input's bf16 rounding where the weight multiplies in
// bf16 and there is one, else on the fp32 values (rounded inside where needed).
void base_forward(float* out, const uint16_t* rounding, const float* values, int64_t m, const Weight& w) {
  if (rounding && multiplies_in_bf16(w)) return linear_forward(out, rounding, m, w);
  linear_forward(out, values, m, w);
}

// out += scale · h·Bᵀ.
void add_adapter_output(float* out, const float* h, int64_t m, const Weight& w, const LoraView& lora) {
  GemmShape up = linear_shape(m, w.rows, lora.rank);
  up.beta = 1.0f;
  Products::gemm(up, Products::take(h), Products::take(lora.b, lora.scale), out);
}

// One adapter alone, past dB, given dh = dout·(scale·B): dA += dhᵀ·dropout(x);
// dx += dropout'(dh·A), the mask being linear: the same dropout run on the
// gradient. Without dropout straight into dinp, with no (m, in) buffer and pass.
void adapter_backward_alone(float* dinp, const float* d_hidden, const float* inp, int64_t m, const Weight& w,
                            const LoraView& lora) {
  const int64_t r = lora.rank, in = w.cols;
  std::vector<float> scratch;
  if (lora.grad_a)
    gemm_f32(GemmShape{true, false, r, in, m, r, in, in, 1.0f, 1.0f}, d_hidden, dropped_input(inp, m * in, lora, scratch),
             lora.grad_a);
  GemmShape d_input{false, false, m, in, r, r, in, in, 1.0f, 1.0f};
  if (lora.dropout <= 0.0f) return gemm_f32(d_input, d_hidden, lora.a, dinp);
  d_input.beta = 0.0f;
  std::unique_ptr<float[]> d_dropped(new float[size_t(m * in)]);  // written whole by the beta-0 gemm
  gemm_f32(d_input, d_hidden, lora.a, d_dropped.get());
  const float* d_x = dropped_input(d_dropped.get(), m * in, lora, scratch);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < m * in; ++i) dinp[i] += d_x[i];
}

}  // namespace

bool projection_rounds_inputs(const Weight& w, const LoraView& lora) {
  return multiplies_in_bf16(w) && (lora.rank == 0 || lora.bf16_products);
}

void projections_forward(std::span<const ProjectionOutput> outputs, Activation inp, int64_t m) {
  const int64_t in = outputs.front().w->cols;
  const Adapters<ProjectionOutput> adapters(outputs, m);
  Products products(adapters.bf16);
  // The input, rounded once for the base's products and the adapters' A where they multiply in bf16.
  const Operand x = products.rounded(inp.values, m * in, 1.0f, inp.bf16);
  for (const ProjectionOutput& o : outputs) {
    WHET_ASSERT(o.w->cols == in);
    base_forward(o.out, x.bf16 ? x.bf16 : inp.bf16, inp.values, m, *o.w);
  }
  if (!adapters.stacked.empty()) {
    std::vector<float> h(size_t(m * adapters.rank));
    const std::vector<float> a_rows = adapters.a_rows();
    Products::gemm(linear_shape(m, adapters.rank, in), x, products.rounded(a_rows.data(), adapters.rank * in),
                   h.data());
    // Each output from its columns of h, copied out just before (inference may give
    // every projection one lora_hidden; oneDNN's kernels for rows ld apart were slower).
    int64_t column = 0;
    for (const ProjectionOutput* o : adapters.stacked) {
      const int64_t r = o->lora->rank;
      copy_columns(o->lora_hidden, r, h.data() + column, adapters.rank, m, r);
      add_adapter_output(o->out, o->lora_hidden, m, *o->w, *o->lora);
      column += r;
    }
  }
  for (const ProjectionOutput* o : adapters.alone) {
    const int64_t r = o->lora->rank;
    std::vector<float> scratch;
    const Operand adapter_x =
        o->lora->dropout > 0.0f ? products.rounded(dropped_input(inp.values, m * in, *o->lora, scratch), m * in) : x;
    Products::gemm(linear_shape(m, r, in), adapter_x, products.rounded(o->lora->a, r * in), o->lora_hidden);
    add_adapter_output(o->out, o->lora_hidden, m, *o->w, *o->lora);
  }
}

void projection_forward(float* out, float* lora_hidden, Activation inp, int64_t m, const Weight& w,
                        const LoraView& lora) {
  const ProjectionOutput one{out, lora_hidden, &w, &lora};
  projections_forward(std::span(&one, 1), inp, m);
}

// With h = dropout(x)·Aᵀ: dB += scale·doutᵀ·h; dh = scale·dout·B; dA += dhᵀ·dropout(x);
// dx += dropout'(dh·A), where dropout' applies the same mask and scale.
void projections_backward(float* dinp, std::span<const ProjectionGradient> gradients, const float* inp, int64_t m,
                          bool accumulate) {
  const int64_t in = gradients.front().w->cols;
  const Adapters<ProjectionGradient> adapters(gradients, m);
  Products products(adapters.bf16);
  // The input rounded once for the weight gradients of bf16 copies that train (full fine-tuning's).
  Activation x = inp;
  std::unique_ptr<uint16_t[]> x_rounded;
  for (const ProjectionGradient& g : gradients)
    if (g.dweight && g.w->dtype == DType::BF16 && !x.bf16) x.bf16 = (x_rounded = rounded_to_bf16(inp, m * in)).get();
  // The stacked adapters' dh side by side, (m, their ranks together).
  std::vector<float> d_hidden(size_t(m * adapters.rank));
  int64_t column = 0;
  for (const ProjectionGradient& g : gradients) {
    const Weight& w = *g.w;
    const LoraView& lora = *g.lora;
    const int64_t r = lora.rank, out = w.rows;
    if (r == 0) {
      linear_backward(dinp, g.dweight, g.dout, x, m, w, accumulate);
      accumulate = true;
      continue;
    }
    // dout, rounded once for the base's product and the adapter's where they multiply in bf16.
    const Operand d_out = products.rounded(g.dout.values, m * out, 1.0f, g.dout.bf16);
    linear_backward(dinp, g.dweight, {d_out.f32, d_out.bf16}, x, m, w, accumulate);
    accumulate = true;
    if (lora.grad_b)
      Products::gemm(GemmShape{true, false, out, r, m, out, r, r, 1.0f, 1.0f}, d_out,
                     products.rounded(g.lora_hidden, m * r, lora.scale), lora.grad_b);
    // dh = dout·(scale·B), in its own rows (oneDNN's kernels for rows ld apart were slower).
    std::vector<float> own(size_t(m * r));
    Products::gemm(GemmShape{false, false, m, r, out, out, r, r, 1.0f, 0.0f}, d_out,
                   products.rounded(lora.b, out * r, lora.scale), own.data());
    if (std::find(adapters.stacked.begin(), adapters.stacked.end(), &g) == adapters.stacked.end()) {
      adapter_backward_alone(dinp, own.data(), inp, m, w, lora);
      continue;
    }
    copy_columns(d_hidden.data() + column, adapters.rank, own.data(), r, m, r);
    column += r;
  }
  if (adapters.stacked.empty()) return;
  // dA += dhᵀ·x, all at once and shared out; dx += dh·A over the ranks together.
  std::vector<float> d_a(size_t(adapters.rank * in));
  gemm_f32(GemmShape{true, false, adapters.rank, in, m, adapters.rank, in, in, 1.0f, 0.0f}, d_hidden.data(), inp,
           d_a.data());
  const float* rows = d_a.data();
  for (const ProjectionGradient* g : adapters.stacked) {
    const int64_t n = g->lora->rank * in;
    if (float* grad_a = g->lora->grad_a)
      for (int64_t i = 0; i < n; ++i) grad_a[i] += rows[i];
    rows += n;
  }
  const std::vector<float> a_rows = adapters.a_rows();
  gemm_f32(GemmShape{false, false, m, in, adapters.rank, adapters.rank, in, in, 1.0f, 1.0f}, d_hidden.data(),
           a_rows.data(), dinp);
}

void projection_backward(float* dinp, float* dweight, Activation dout, const float* inp, const float* lora_hidden,
                         int64_t m, const Weight& w, const LoraView& lora, bool accumulate) {
  const ProjectionGradient one{dout, lora_hidden, &w, &lora, dweight};
  projections_backward(dinp, std::span(&one, 1), inp, m, accumulate);
}

}  // namespace whet
