#include "kernels/gemm.h"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <tuple>

#include "core/dtype.h"
#include "core/error.h"
#include "core/phase_timer.h"

namespace whet {

namespace {
void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) {
    std::fprintf(stderr, "internal error: oneDNN %s failed with status %d\n", what, int(status));
    std::abort();
  }
}
char trans_flag(bool t) { return t ? 'T' : 'N'; }

// oneDNN has no bf16 sgemm-style call, so bf16 goes through a matmul primitive.
// Creating one costs far more than a small multiply, so they are cached per shape.
// Threads may run one primitive at once: each passes its own
// scratchpad, which oneDNN's own would otherwise share between them.
struct Bf16Matmul {
  dnnl::memory::desc a, b, c, scratchpad;
  dnnl::matmul primitive;
};

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A transposed operand is the stored matrix read with swapped strides.
dnnl::memory::desc bf16_operand(bool transposed, int64_t rows, int64_t cols, int64_t ld) {
  using dnnl::memory;
  return memory::desc({rows, cols}, memory::data_type::bf16, transposed ? memory::dims{1, ld} : memory::dims{ld, 1});
}

// Null when this CPU has no bf16 matmul in oneDNN (it needs AVX-512 BF16 or AMX).
// `packed_b`: B in the layout pack_bf16 gave op(B) of this k and n, not strided.
const Bf16Matmul* bf16_matmul_for(const GemmShape& s, const dnnl::memory::desc* packed_b) {
  using dnnl::memory;
  // With the calling thread's OpenMP team size: a primitive sizes its work split
  // and scratchpad for the threads it was created with (whet tune's trials each have their share).
  // pack_bf16 lays out every operand of one k and n alike, so whether B is packed tells its layout.
  using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float, int, bool>;
  static std::map<Key, std::optional<Bf16Matmul>> cache;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const Key key{s.trans_a, s.trans_b, s.m,    s.n,    s.k, s.lda, s.ldb, s.ldc, s.alpha, s.beta, omp_get_max_threads(),
                packed_b != nullptr};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second ? &*it->second : nullptr;
  Bf16Matmul m;
  m.a = bf16_operand(s.trans_a, s.m, s.k, s.lda);
  m.b = packed_b ? *packed_b : bf16_operand(s.trans_b, s.k, s.n, s.ldb);
  m.c = memory::desc({s.m, s.n}, memory::data_type::f32, memory::dims{s.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // gemm_bf16 scales C itself where it can: with output scales oneDNN picked a kernel
  // ten times slower for attention's 64-row products.
  if (s.alpha != 1.0f) attr.set_output_scales(0, {s.alpha});
  if (s.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(s.beta);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(m.a, m.b, m.c), attr, cpu_engine(), /*allow_empty=*/true);
  if (!pd) {
    cache.emplace(key, std::nullopt);
    return nullptr;
  }
  m.scratchpad = pd.scratchpad_desc();
  m.primitive = dnnl::matmul(pd);
  return &*cache.emplace(key, std::move(m)).first->second;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());  // one per thread, not one per call
  return stream;
}
std::vector<float> widen(const uint16_t* x, int64_t rows, int64_t ld, int64_t cols) {
  std::vector<float> out(size_t(rows) * ld);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) out[r * ld + i] = bf16_to_f32(x[r * ld + i]);
  return out;
}

// Same arithmetic (bf16 products are exact in fp32, fp32 accumulation) without bf16 hardware.
void gemm_bf16_via_f32(const GemmShape& s, const uint16_t* a, const uint16_t* b, float* c) {
  const int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
  const int64_t b_rows = s.trans_b ? s.n : s.k, b_cols = s.trans_b ? s.k : s.n;
  const std::vector<float> a32 = widen(a, a_rows, s.lda, a_cols), b32 = widen(b, b_rows, s.ldb, b_cols);
  gemm_f32(s, a32.data(), b32.data(), c);
}
// oneDNN's per-call cost dominates products of a few rows (a decode step: one
// query against its keys, one token through an adapter), so those run here.
constexpr int64_t kSmallRows = 4;

// Columns per task: threads split C's columns (inside another parallel region,
// e.g. attention's per-head loop, the loop runs on the calling thread alone).
constexpr int64_t kColumnBlock = 64;

void gemm_few_rows(const GemmShape& s, const float* a, const float* b, float* c) {
  // op(A)'s rows, each contiguous: A itself when it is stored so (a decode step's
  // query against its keys), else copied.
  std::vector<float> a_copy;
  const float* a_rows = a;
  int64_t a_stride = s.lda;
  if (s.trans_a) {
    a_copy.resize(size_t(s.m * s.k));
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t p = 0; p < s.k; ++p) a_copy[size_t(i * s.k + p)] = a[p * s.lda + i];
    a_rows = a_copy.data(), a_stride = s.k;
  }
  const int64_t blocks = (s.n + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (s.n * s.k >= 16384)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t j0 = block * kColumnBlock, j1 = std::min(s.n, j0 + kColumnBlock);
    float sums[kColumnBlock];
    for (int64_t i = 0; i < s.m; ++i) {
      const float* a_row = a_rows + i * a_stride;
      if (s.trans_b) {
        for (int64_t j = j0; j < j1; ++j) {
          const float* b_row = b + j * s.ldb;
          float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
          for (int64_t p = 0; p < s.k; ++p) sum += a_row[p] * b_row[p];
          sums[j - j0] = sum;
        }
      } else {
        std::fill(sums, sums + (j1 - j0), 0.0f);
        for (int64_t p = 0; p < s.k; ++p) {
          const float* b_row = b + p * s.ldb + j0;
          const float scale = a_row[p];
#pragma omp simd
          for (int64_t j = 0; j < j1 - j0; ++j) sums[j] += scale * b_row[j];
        }
      }
      float* c_row = c + i * s.ldc;
      // beta 0 must not read C, which may hold anything.
      for (int64_t j = j0; j < j1; ++j)
        c_row[j] = s.alpha * sums[j - j0] + (s.beta == 0.0f ? 0.0f : s.beta * c_row[j]);
    }
  }
}

// The profile's name of a matmul: its element type and shape, transposes as BLAS writes them.
std::string matmul_phase(const char* type, const GemmShape& s) {
  if (!phase_timed_here()) return {};
  return fmt::format("matmul {} {}{} {}x{}x{}", type, trans_flag(s.trans_a), trans_flag(s.trans_b), s.m, s.n, s.k);
}
double matmul_flops(const GemmShape& s) { return 2.0 * double(s.m) * double(s.n) * double(s.k); }

// oneDNN's kernels write C a tile at a time and wait on each line of it they do
// not hold yet: in a LoRA step, a 512 x 576 x 576 product took 0.55 ms, and the
// same product again right after (C in cache) 0.22. Asking for all of C's lines
// for writing first, from both threads at once, keeps many of those fetches in
// flight: that product 0.36-0.38 ms, fetching included; the step's 512-row
// products 26 ms less, the step 701-724 against 725-739 ms (docs/performance.md).
// Outputs that would not stay in the caches (the LM head's logits, 25 MB) are
// left alone.
constexpr double kFetchOutputMinBytes = 256 * 1024, kFetchOutputMaxBytes = 8 * 1024 * 1024;

void fetch_output_for_writing(float* c, const GemmShape& s) {
  const double bytes = 4.0 * double(s.m) * double(s.n);
  if (omp_in_parallel() || bytes < kFetchOutputMinBytes || bytes > kFetchOutputMaxBytes) return;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; j += 16) _mm_prefetch(reinterpret_cast<const char*>(c + i * s.ldc + j), _MM_HINT_ET0);
}

}  // namespace

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c) {
  if (s.m == 0 || s.n == 0) return;
  const PhaseScope phase(matmul_phase("f32", s), matmul_flops(s));
  if (s.m <= kSmallRows) return gemm_few_rows(s, a, b, c);
  check(dnnl_sgemm(trans_flag(s.trans_a), trans_flag(s.trans_b), s.m, s.n, s.k, s.alpha, a, s.lda, b,
                   s.ldb, s.beta, c, s.ldc),
        "sgemm");
}

struct PackedBf16 {
  int64_t k = 0, n = 0;
  dnnl::memory::desc layout;
  dnnl::memory values;  // owns its buffer
};

std::shared_ptr<const PackedBf16> pack_bf16(bool trans_b, int64_t k, int64_t n, const uint16_t* b, int64_t ldb) {
  using dnnl::memory;
  // The layout oneDNN picks for B with its choice left open; it does not depend on
  // the rows of A (checked for 1 to 512 rows), so one packing serves every product.
  constexpr int64_t kRepresentativeRows = 64;
  const memory::desc a = bf16_operand(false, kRepresentativeRows, k, k);
  const memory::desc any({k, n}, memory::data_type::bf16, memory::format_tag::any);
  const memory::desc c({kRepresentativeRows, n}, memory::data_type::f32, memory::dims{n, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, any, c), dnnl::primitive_attr(), cpu_engine(),
                                        /*allow_empty=*/true);
  if (!pd) return nullptr;
  const PhaseScope phase("pack bf16 operands");
  auto packed = std::make_shared<PackedBf16>();
  packed->k = k, packed->n = n;
  packed->layout = pd.weights_desc();
  packed->values = memory(packed->layout, cpu_engine());
  memory plain(bf16_operand(trans_b, k, n, ldb), cpu_engine(), const_cast<uint16_t*>(b));
  dnnl::reorder(plain, packed->values).execute(thread_stream(), plain, packed->values);
  thread_stream().wait();
  return packed;
}

void gemm_bf16(const GemmShape& s, const uint16_t* a, const uint16_t* b, float* c, const PackedBf16* packed_b) {
  if (s.m == 0 || s.n == 0) return;
  if (s.alpha != 1.0f && s.beta == 0.0f) {
    GemmShape unscaled = s;
    unscaled.alpha = 1.0f;
    gemm_bf16(unscaled, a, b, c, packed_b);
    for (int64_t i = 0; i < s.m; ++i) {
      float* row = c + i * s.ldc;
#pragma omp simd
      for (int64_t j = 0; j < s.n; ++j) row[j] *= s.alpha;
    }
    return;
  }
  WHET_ASSERT(!packed_b || (packed_b->k == s.k && packed_b->n == s.n));
  const Bf16Matmul* matmul = bf16_matmul_for(s, packed_b ? &packed_b->layout : nullptr);
  if (!matmul && packed_b) return gemm_bf16(s, a, b, c);
  // Widened to fp32, the product is timed (and its FLOPs counted) as the f32 matmul it becomes.
  if (!matmul) return gemm_bf16_via_f32(s, a, b, c);
  const PhaseScope phase(matmul_phase(packed_b ? "bf16 packed" : "bf16", s), matmul_flops(s));
  const Bf16Matmul& m = *matmul;
  dnnl::stream& stream = thread_stream();
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < m.scratchpad.get_size()) scratch.resize(m.scratchpad.get_size());
  // Each thread's memory objects for a primitive are made once and pointed at the
  // call's data: made per call, with the argument map, they cost as much as
  // attention's small products (allocations and a hash table each time).
  thread_local std::map<const Bf16Matmul*, std::array<dnnl::memory, 4>> memories;
  auto [it, made] = memories.try_emplace(matmul);
  std::array<dnnl::memory, 4>& mem = it->second;
  if (made)
    mem = {dnnl::memory(m.a, cpu_engine(), DNNL_MEMORY_NONE), dnnl::memory(m.b, cpu_engine(), DNNL_MEMORY_NONE),
           dnnl::memory(m.c, cpu_engine(), DNNL_MEMORY_NONE),
           dnnl::memory(m.scratchpad, cpu_engine(), DNNL_MEMORY_NONE)};
  fetch_output_for_writing(c, s);
  mem[0].set_data_handle(const_cast<uint16_t*>(a));
  mem[1].set_data_handle(packed_b ? packed_b->values.get_data_handle() : const_cast<uint16_t*>(b));
  mem[2].set_data_handle(c);
  mem[3].set_data_handle(scratch.data());
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mem[0].get()},
                                  {DNNL_ARG_WEIGHTS, mem[1].get()},
                                  {DNNL_ARG_DST, mem[2].get()},
                                  {DNNL_ARG_SCRATCHPAD, mem[3].get()}};
  check(dnnl_primitive_execute(m.primitive.get(), stream.get(), 4, args), "matmul");
  stream.wait();
}

void gemm_reference(const GemmShape& s, const float* a, const float* b, float* c) {
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < s.k; ++p) {
        float av = s.trans_a ? a[p * s.lda + i] : a[i * s.lda + p];
        float bv = s.trans_b ? b[j * s.ldb + p] : b[p * s.ldb + j];
        sum += double(av) * double(bv);
      }
      float prev = s.beta == 0.0f ? 0.0f : s.beta * c[i * s.ldc + j];
      c[i * s.ldc + j] = s.alpha * float(sum) + prev;
    }
  }
}

}  // namespace whet
