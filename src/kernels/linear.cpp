#include "kernels/linear.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/phase_timer.h"
#include "kernels/gemm.h"
#include "kernels/quant_dot.h"
#include "kernels/quant_tiles.h"

namespace whet {

namespace {

// Up to this many input rows, decoding each weight row once (in groups of eight
// input rows, sixteen with AVX-512) beats decoding the whole matrix for a gemm: `whet bench batch` on
// the default Q4_1 model, 2 threads, gave 203 against 188 tokens/s at 32 rows and
// 238 against 291 at 64.
constexpr int64_t kRowwiseMaxInputs = 32;

// With AMX tiles (quant_tiles.h), from 5 to 512 input rows. `whet bench batch`, default
// Q4_1 model, 2 threads with AMX, 2026-12-07, tokens/s with tiles against the fused
// dots (up to 32 rows) or the decoded gemm: 122 against 146 at 3 rows, 153 against
// 200 at 4, 201 against 176 at 6, 249 against 219 at 8, 426 against 262 at 16, 449
// against 229 at 32, 506 against 230 at 64, 509 against 323 at 128 (tiles decoding
// the weights again for each 16 rows; since they decode once, 585 at 128 and 609
// against 455 at 256). One 1536 x 576 matrix against 512 rows took 2.2 ms on tiles
// and 3.4 decoded for oneDNN's sgemm, 576 x 1536 3.0 and 3.3; at 1024 rows they tie.
constexpr int64_t kTiledMinInputs = 5, kTiledMaxInputs = 512;
// Without AMX, on AVX-512 vectors (quant_tiles.h), from 11 to 512 rows: a chunk of 16
// activation rows costs the same however few it holds. `whet bench batch`, default
// Q4_1 model, 2 threads of an AMD EPYC with AVX-512 and no AMX, 2026-12-07, alternately
// with the fused dots or the decoded gemm, tokens/s: 152-155 against 231-242 at 5 rows,
// 232-236 against 282-300 at 8, 207-251 against 238-267 at 9, 220-280 against 239-269 at
// 10, 242-305 against 233-239 at 11, 340-348 against 292-297 at 12, 432-443 against
// 268-272 at 16, 476-489 against 271-284 at 32, 436-512 against 307-319 at 128; a
// 512-token prompt 722-730 against 628-659.
constexpr int64_t kVectorMinInputs = 11, kVectorMaxInputs = 512;

// With AVX2 alone (quant_tiles.h: 16 weight rows on their side, 6 activation rows
// at a time), from 6 to 512 rows. `whet bench batch`, default Q4_1 model, 2 threads,
// built for x86-64-v3 (AVX2, FMA, F16C) and run on the AMD EPYC above (no AVX2-only
// CPU at hand), 2026-12-08, alternately with the fused dots or the decoded gemm,
// tokens/s: 155-226 against 253-266 at 4 rows, 205-257 against 204-234 at 5, 264-303
// against 220-245 at 6, 288-314 against 263-275 at 8, 390 against 280 at 12, 364
// against 236-280 at 16, 444 against 272 at 32, 564 against 190 at 64; a 512-token
// prompt (`whet bench generate`) 649-700 against 604-622.
constexpr int64_t kAvx2MinInputs = 6, kAvx2MaxInputs = 512;

// Whether m input rows multiply weights encoded as `type` in tiled_dots, on the engine it takes.
bool multiplies_on_tiles(DType type, int64_t m) {
  if (!has_tiled_dots(type)) return false;
  switch (best_tiled_dots_engine()) {
    case TiledDotsEngine::amx_tiles: return m >= kTiledMinInputs && m <= kTiledMaxInputs;
    case TiledDotsEngine::avx512: return m >= kVectorMinInputs && m <= kVectorMaxInputs;
    default: return m >= kAvx2MinInputs && m <= kAvx2MaxInputs;
  }
}

// Whether a few input rows multiply a weight row by row (decoded to fp32) rather
// than in one gemm. bf16 is not decoded for a gemm, and where the CPU multiplies
// bf16 in hardware oneDNN's gemm wins from two rows on and ties at one: `whet bench
// batch --weights bf16`, 2 threads with AMX, run alternately with the row-by-row
// binary (2026-12-06), gave 271-357 against 78-134 tokens/s at 16, 111 against 95
// at 4, and 34.4-34.5 against 36.1-36.6 at 1 (within that machine's noise, where
// single runs ranged 33-39).
bool multiplies_row_by_row(DType weight, int64_t inputs) {
  if (weight == DType::F32) return false;
  if (multiplies_on_tiles(weight, inputs)) return true;
  if (inputs > kRowwiseMaxInputs) return false;
  return weight != DType::BF16 || !cpu_has_bf16_units();
}

// The profile's phase of weight rows against m inputs, "weight rows Q4_1 576x576,
// 16 inputs" (several weights together: their rows joined, "(576+192+192)x576"),
// and its FLOPs.
PhaseScope weight_rows_phase(DType type, const std::vector<int64_t>& rows, int64_t cols, int64_t m) {
  const int64_t total = std::accumulate(rows.begin(), rows.end(), int64_t(0));
  const std::string joined = rows.size() == 1 ? fmt::format("{}", total) : fmt::format("({})", fmt::join(rows, "+"));
  return PhaseScope(phase_timed_here() ? fmt::format("weight rows {} {}x{}, {} inputs", dtype_name(type), joined, cols, m)
                                       : std::string(),
                    2.0 * double(m) * double(total) * double(cols));
}

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

// Decodes each weight block once for all the input rows.
void linear_rowwise_fused(float* out, const float* inp, int64_t m, const Weight& w) {
  if (multiplies_on_tiles(w.dtype, m)) {
    const TiledWeights matrix{w.data, int64_t(w.row_bytes()), w.rows, out, w.rows};
    return tiled_dots(w.dtype, std::span(&matrix, 1), inp, m, w.cols);
  }
  const std::vector<float> block_sums = activation_block_sums(inp, m * w.cols);  // row after row
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < w.rows; ++r)
    fused_dots(w.dtype, w.row(r), inp, block_sums.data(), m, w.cols, out + r, w.rows);
}

// W's packed operand for a product of this shape, if it has one: W (input
// gradients). Laying out Wᵀ for the outputs too gained a LoRA step 8 ms of 600,
// for the base's memory again (docs/performance.md).
const PackedBf16* packed_operand(const Weight& w, const GemmShape& shape) {
  return shape.trans_b ? nullptr : w.packed_for_input_gradients.get();
}

// c = a·op(W) for a weight in any encoding: fp32 and bf16 multiply as stored
// (bf16 rounds `a` to bf16 too); others are decoded whole first.
void gemm_with_weight(const GemmShape& shape, const float* a, const Weight& w, float* c) {
  if (w.dtype == DType::F32) {
    gemm_f32(shape, a, reinterpret_cast<const float*>(w.data), c);
  } else if (w.dtype == DType::BF16) {
    gemm_bf16(shape, rounded_to_bf16(a, shape.m * shape.k).get(), reinterpret_cast<const uint16_t*>(w.data), c,
              packed_operand(w, shape));
  } else {
    const Weight decoded = [&] {
      const PhaseScope phase("decode weights to f32");
      return convert_weight(w, DType::F32);
    }();
    gemm_f32(shape, a, reinterpret_cast<const float*>(decoded.data), c);
  }
}

GemmShape input_gradient_shape(int64_t m, const Weight& w, bool accumulate) {
  return GemmShape{false, false, m, w.cols, w.rows, w.rows, w.cols, w.cols, 1.0f, accumulate ? 1.0f : 0.0f};
}

}  // namespace

void round_to_bf16(uint16_t* out, const float* a, int64_t n) {
  const PhaseScope phase("round activations to bf16");
#pragma omp parallel for simd schedule(static) if (n >= 16384)
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(a[i]);
}

std::unique_ptr<uint16_t[]> rounded_to_bf16(const float* a, int64_t n) {
  std::unique_ptr<uint16_t[]> out(new uint16_t[size_t(n)]);
  round_to_bf16(out.get(), a, n);
  return out;
}

bool multiplies_in_bf16(const Weight& w) { return w.dtype == DType::BF16 && cpu_has_bf16_units(); }

void pack_for_input_gradients(Weight& w) {
  if (!multiplies_in_bf16(w) || w.packed_for_input_gradients) return;  // a learner made again keeps the layout
  w.packed_for_input_gradients =
      pack_bf16(/*trans_b=*/false, w.rows, w.cols, reinterpret_cast<const uint16_t*>(w.data), w.cols);
}

void linear_forward(float* out, const uint16_t* inp_bf16, int64_t m, const Weight& w) {
  WHET_ASSERT(multiplies_in_bf16(w));
  gemm_bf16(linear_shape(m, w.rows, w.cols), inp_bf16, reinterpret_cast<const uint16_t*>(w.data), out);
}

void linear_forward(float* out, const float* inp, int64_t m, const Weight& w) {
  if (multiplies_row_by_row(w.dtype, m)) {
    const PhaseScope phase = weight_rows_phase(w.dtype, {w.rows}, w.cols, m);
    if (has_fused_dot(w.dtype)) {
      linear_rowwise_fused(out, inp, m, w);
    } else {
      linear_rowwise_decoded(out, inp, m, w);
    }
    return;
  }
  gemm_with_weight(linear_shape(m, w.rows, w.cols), inp, w, out);
}

void linear_forward(std::span<const WeightProduct> products, const float* inp, int64_t m) {
  const Weight& first = *products.front().w;
  const bool tiled = multiplies_on_tiles(first.dtype, m) &&
                     std::all_of(products.begin(), products.end(), [&](const WeightProduct& p) {
                       return p.w->dtype == first.dtype && p.w->cols == first.cols;
                     });
  if (!tiled) {
    for (const WeightProduct& p : products) linear_forward(p.out, inp, m, *p.w);
    return;
  }
  std::vector<TiledWeights> matrices;
  std::vector<int64_t> rows;
  for (const WeightProduct& p : products) {
    matrices.push_back({p.w->data, int64_t(p.w->row_bytes()), p.w->rows, p.out, p.w->rows});
    rows.push_back(p.w->rows);
  }
  const PhaseScope phase = weight_rows_phase(first.dtype, rows, first.cols, m);
  tiled_dots(first.dtype, matrices, inp, m, first.cols);
}

void linear_backward(float* dinp, float* dweight, Activation dout, Activation inp, int64_t m, const Weight& w,
                     bool accumulate) {
  const GemmShape d_input = input_gradient_shape(m, w, accumulate);
  const GemmShape d_weight{true, false, w.rows, w.cols, m, w.rows, w.cols, w.cols, 1.0f, 1.0f};
  if (w.dtype == DType::BF16 && (dweight || dout.bf16)) {
    // A bf16 copy of f32 master weights (full fine-tuning with bf16 compute): both
    // products in bf16, dout rounded once for the two, the weight gradient summed
    // in fp32. A frozen bf16 weight given dout rounded: its one product.
    std::unique_ptr<uint16_t[]> dout_here, inp_here;
    const uint16_t* dout16 = dout.bf16 ? dout.bf16 : (dout_here = rounded_to_bf16(dout.values, m * w.rows)).get();
    gemm_bf16(d_input, dout16, reinterpret_cast<const uint16_t*>(w.data), dinp, packed_operand(w, d_input));
    if (!dweight) return;
    const uint16_t* inp16 = inp.bf16 ? inp.bf16 : (inp_here = rounded_to_bf16(inp.values, m * w.cols)).get();
    gemm_bf16(d_weight, dout16, inp16, dweight);
    return;
  }
  gemm_with_weight(d_input, dout.values, w, dinp);
  if (dweight) {
    WHET_ASSERT(w.dtype == DType::F32);
    gemm_f32(d_weight, dout.values, inp.values, dweight);
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
