#pragma once
// General matrix multiply, row-major, BLAS conventions:
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
// where op(X) is X or its transpose. oneDNN does the work; gemm_reference is
// the plain triple loop the tests hold it to.
#include <cstdint>
#include <memory>

namespace whet {

struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;  // leading dimensions (row strides) as stored
  float alpha = 1.0f, beta = 0.0f;
};

// A bf16 right operand op(B) (k, n) laid out once in the blocks oneDNN's kernels
// read, for an operand that many products reuse unchanged (a frozen weight): its
// products skip laying it out again each call (the model's 512-row products ran
// 15-35% faster, docs/performance.md). The layout is oneDNN's choice for this CPU.
struct PackedBf16;
// Null where the CPU has no bf16 matmul.
std::shared_ptr<const PackedBf16> pack_bf16(bool trans_b, int64_t k, int64_t n, const uint16_t* b, int64_t ldb);

void gemm_f32(const GemmShape& s, const float* a, const float* b, float* c);
// bf16 inputs, fp32 accumulation and output. With `packed_b` (op(B) packed, the
// same values as b), the product reads that instead of b.
void gemm_bf16(const GemmShape& s, const uint16_t* a, const uint16_t* b, float* c,
               const PackedBf16* packed_b = nullptr);
void gemm_reference(const GemmShape& s, const float* a, const float* b, float* c);

// The common case y[M,N] = x[M,K] * W[N,K]^T of a linear layer with weights stored [out, in].
inline GemmShape linear_shape(int64_t m, int64_t n, int64_t k) {
  return GemmShape{false, true, m, n, k, k, k, n, 1.0f, 0.0f};
}

}  // namespace whet
