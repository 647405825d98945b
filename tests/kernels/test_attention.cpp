// Tiled attention against the reference that materialises every score, on
// shapes that cross tile boundaries, with grouped heads, packed segments and a
// key/value history (decode).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::max_abs_diff;
using test::random_values;

struct AttentionCase {
  int64_t t, start, heads, kv_heads, head_dim;
  bool segments;
};

class AttentionTest : public ::testing::TestWithParam<AttentionCase> {};

// Three packed examples; their boundaries fall inside and across query tiles.
std::vector<int32_t> segment_begins(int64_t t) {
  std::vector<int32_t> begins(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) begins[size_t(i)] = int32_t(i < t / 3 ? 0 : i < 2 * t / 3 ? t / 3 : 2 * t / 3);
  return begins;
}

// Float32 sums of up to a few hundred terms of O(1) values against double: 1e-4.
TEST_P(AttentionTest, ForwardAndBackwardMatchReference) {
  const AttentionCase c = GetParam();
  const std::vector<int32_t> begins = segment_begins(c.t);
  const AttentionShape s{c.t, c.start, c.heads, c.kv_heads, c.head_dim, c.segments ? begins.data() : nullptr};
  const int64_t keys = c.start + c.t, q_size = c.t * c.heads * c.head_dim, kv_size = keys * c.kv_heads * c.head_dim;
  const auto q = random_values(q_size, 1), k = random_values(kv_size, 2), v = random_values(kv_size, 3);
  std::vector<float> out(static_cast<size_t>(q_size)), want(static_cast<size_t>(q_size)), lse(size_t(c.t * c.heads));
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), s);
  attention_forward_reference(want.data(), q.data(), k.data(), v.data(), s);
  EXPECT_LT(max_abs_diff(out, want), 1e-4f);
  if (c.start != 0) return;  // the backward serves training shapes only

  const auto dout = random_values(q_size, 4);
  std::vector<float> dq(static_cast<size_t>(q_size)), dk(size_t(kv_size), 0.0f), dv(size_t(kv_size), 0.0f);
  std::vector<float> dq_ref(static_cast<size_t>(q_size)), dk_ref(size_t(kv_size), 0.0f), dv_ref(size_t(kv_size), 0.0f);
  attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(),
                     lse.data(), s);
  attention_backward_reference(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout.data(), q.data(), k.data(), v.data(),
                               s);
  EXPECT_LT(max_abs_diff(dq, dq_ref), 1e-4f);
  EXPECT_LT(max_abs_diff(dk, dk_ref), 1e-4f);
  EXPECT_LT(max_abs_diff(dv, dv_ref), 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(AttentionCase{1, 0, 2, 1, 8, false},       // one token
                                           AttentionCase{150, 0, 6, 2, 16, false},    // 3 tiles, GQA
                                           AttentionCase{150, 0, 4, 4, 16, true},     // packed segments
                                           AttentionCase{64, 0, 3, 1, 32, true},      // exactly one tile
                                           AttentionCase{1, 37, 4, 2, 16, false},     // decode step
                                           AttentionCase{70, 100, 4, 2, 16, false}));  // prefill after history

}  // namespace
}  // namespace whet
