// Tiled attention against the reference that materialises every score, on
// shapes that cross tile boundaries, with grouped heads, packed segments, a
// shared prefix, a key/value history (decode), sliding windows and a given
// scale, and softcapped scores, with fp32 and with bf16 products, and with
// keys and values held as half; a shared prefix against the two sequences it
// stands for, with and without a window; and the window's edge worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::max_abs_diff;
using test::random_values;

// Causal: every earlier key. Packed: three examples. SharedPrefix: a prompt,
// an answer continuing it, and a second answer that sees the prompt but not the first.
enum class Mask { Causal, Packed, SharedPrefix };

struct AttentionCase {
  int64_t t, start, heads, kv_heads, head_dim;
  Mask mask;
  int64_t window = 0;
  float scale = 0.0f;
  float softcap = 0.0f;
};

class AttentionTest : public ::testing::TestWithParam<AttentionCase> {};

// Three packed examples; their boundaries fall inside and across query tiles.
std::vector<int32_t> segment_begins(int64_t t) {
  std::vector<int32_t> begins(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) begins[size_t(i)] = int32_t(i < t / 3 ? 0 : i < 2 * t / 3 ? t / 3 : 2 * t / 3);
  return begins;
}

// The shared-prefix layout in thirds: [prompt, first answer, second answer].
struct SharedPrefixMask {
  std::vector<int32_t> segment_begin, prefix_end;
  SharedPrefixMask(int64_t prompt, int64_t first, int64_t second) {
    for (int64_t i = 0; i < prompt + first + second; ++i) {
      const bool in_second = i >= prompt + first;
      segment_begin.push_back(int32_t(in_second ? prompt + first : 0));
      prefix_end.push_back(int32_t(in_second ? prompt : 0));
    }
  }
};

float max_abs(const std::vector<float>& x) {
  float largest = 0.0f;
  for (float v : x) largest = std::max(largest, std::abs(v));
  return largest;
}

std::vector<float> rounded_to_bf16(std::vector<float> x) {
  for (float& v : x) v = bf16_to_f32(f32_to_bf16(v));
  return x;
}

// fp32: sums of up to a few hundred terms of O(1) values against double, 1e-4.
// bf16 products: the reference takes the inputs rounded as the kernels round
// them, which leaves the probabilities and score gradients rounded to bf16 too
// (2^-9 of each); measured up to 0.54% of the output's largest value, allowed 1%.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, bool bf16_products,
                  const char* what) {
  const float allowed = bf16_products ? std::max(1e-2f * max_abs(want), 1e-5f) : 1e-4f;
  EXPECT_LE(max_abs_diff(got, want), allowed) << what;
}

// A case's AttentionShape and the masks it points into.
struct MaskedShape {
  std::vector<int32_t> begins;
  SharedPrefixMask shared;
  AttentionShape shape;
  MaskedShape(const AttentionCase& c, bool bf16_products, bool tile_products = true)
      : begins(segment_begins(c.t)),
        shared(c.t / 3, c.t / 3, c.t - 2 * (c.t / 3)),
        shape{c.t, c.start, c.heads, c.kv_heads, c.head_dim} {
    shape.window = c.window;
    shape.scale = c.scale;
    shape.softcap = c.softcap;
    shape.bf16_products = bf16_products;
    shape.tile_products = tile_products;
    if (c.mask == Mask::Packed) shape.segment_begin = begins.data();
    if (c.mask == Mask::SharedPrefix) {
      shape.segment_begin = shared.segment_begin.data();
      shape.prefix_end = shared.prefix_end.data();
    }
  }
  MaskedShape(const MaskedShape&) = delete;
};

// The tiled kernels against the reference, forward and (on training shapes) backward.
void expect_matches_reference(const AttentionCase& c, bool bf16_products, bool tile_products = true) {
  SCOPED_TRACE(tile_products ? "tiles where the CPU has bf16 units (AMX, or AVX512_BF16 dot products)" : "oneDNN products");
  const MaskedShape masked(c, bf16_products, tile_products);
  const AttentionShape& s = masked.shape;
  auto as_multiplied = [&](std::vector<float> x) { return bf16_products ? rounded_to_bf16(std::move(x)) : x; };
  const int64_t keys = c.start + c.t, q_size = c.t * c.heads * c.head_dim, kv_size = keys * c.kv_heads * c.head_dim;
  const auto q = random_values(q_size, 1), k = random_values(kv_size, 2), v = random_values(kv_size, 3);
  const auto q_ref = as_multiplied(q), k_ref = as_multiplied(k), v_ref = as_multiplied(v);
  std::vector<float> out(static_cast<size_t>(q_size)), want(static_cast<size_t>(q_size)), lse(size_t(c.t * c.heads));
  attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), s);
  attention_forward_reference(want.data(), q_ref.data(), k_ref.data(), v_ref.data(), s);
  expect_close(out, want, bf16_products, "out");
  if (c.start != 0) return;  // the backward serves training shapes only

  const auto dout = random_values(q_size, 4), dout_ref = as_multiplied(dout);
  std::vector<float> dq(static_cast<size_t>(q_size)), dk(size_t(kv_size), 0.0f), dv(size_t(kv_size), 0.0f);
  std::vector<float> dq_ref(static_cast<size_t>(q_size)), dk_ref(size_t(kv_size), 0.0f), dv_ref(size_t(kv_size), 0.0f);
  attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), out.data(),
                     lse.data(), s);
  attention_backward_reference(dq_ref.data(), dk_ref.data(), dv_ref.data(), dout_ref.data(), q_ref.data(),
                               k_ref.data(), v_ref.data(), s);
  expect_close(dq, dq_ref, bf16_products, "dq");
  expect_close(dk, dk_ref, bf16_products, "dk");
  expect_close(dv, dv_ref, bf16_products, "dv");
}

TEST_P(AttentionTest, ForwardAndBackwardMatchReference) { expect_matches_reference(GetParam(), false); }

// Both ways of multiplying bf16: oneDNN's, and on a CPU with bf16 units the tiles (head_dim
// a multiple of 32: the cases of 32 and 64 below).
TEST_P(AttentionTest, Bf16ProductsMatchTheReferenceOnRoundedInputs) {
  expect_matches_reference(GetParam(), true, /*tile_products=*/false);
  expect_matches_reference(GetParam(), true, /*tile_products=*/true);
}

// Keys and values held as IEEE half (a KV cache of F16), against the reference on
// the same values widened: the rounding is the cache's, the sums stay fp32 (1e-4).
TEST_P(AttentionTest, HalfKeysAndValuesMatchTheReferenceOnTheirValues) {
  const AttentionCase& c = GetParam();
  const MaskedShape masked(c, false);
  const int64_t keys = c.start + c.t, q_size = c.t * c.heads * c.head_dim, kv_size = keys * c.kv_heads * c.head_dim;
  const auto q = random_values(q_size, 1), k = random_values(kv_size, 2), v = random_values(kv_size, 3);
  std::vector<uint16_t> k_half(static_cast<size_t>(kv_size)), v_half(static_cast<size_t>(kv_size));
  std::vector<float> k_ref(static_cast<size_t>(kv_size)), v_ref(static_cast<size_t>(kv_size));
  for (int64_t i = 0; i < kv_size; ++i) {
    k_half[size_t(i)] = f32_to_f16(k[size_t(i)]);
    v_half[size_t(i)] = f32_to_f16(v[size_t(i)]);
    k_ref[size_t(i)] = f16_to_f32(k_half[size_t(i)]);
    v_ref[size_t(i)] = f16_to_f32(v_half[size_t(i)]);
  }
  std::vector<float> out(static_cast<size_t>(q_size)), want(static_cast<size_t>(q_size)), lse(size_t(c.t * c.heads));
  attention_forward_f16_kv(out.data(), lse.data(), q.data(), k_half.data(), v_half.data(), masked.shape);
  attention_forward_reference(want.data(), q.data(), k_ref.data(), v_ref.data(), masked.shape);
  expect_close(out, want, false, "out");
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(AttentionCase{1, 0, 2, 1, 8, Mask::Causal},       // one token
                                           AttentionCase{150, 0, 6, 2, 16, Mask::Causal},    // 3 tiles, GQA
                                           AttentionCase{150, 0, 4, 4, 16, Mask::Packed},    // packed segments
                                           AttentionCase{64, 0, 3, 1, 32, Mask::Packed},     // exactly one tile
                                           AttentionCase{150, 0, 6, 2, 16, Mask::SharedPrefix},  // across tiles
                                           AttentionCase{40, 0, 4, 2, 16, Mask::SharedPrefix},   // within one
                                           AttentionCase{1, 37, 4, 2, 16, Mask::Causal},     // decode step
                                           AttentionCase{4, 20, 9, 3, 64, Mask::Causal},     // the default model's, 4 rows
                                           AttentionCase{1, 37, 4, 1, 16, Mask::Causal},     // one kv head
                                           AttentionCase{2, 9, 2, 1, 12, Mask::Causal},      // 12 = 8 + a tail
                                           // Decode steps whose key heads serve more query heads than go
                                           // through the keys together (blocks of 4), a long history.
                                           AttentionCase{1, 200, 7, 1, 64, Mask::Causal},
                                           AttentionCase{2, 53, 8, 1, 32, Mask::Causal},
                                           AttentionCase{3, 0, 2, 1, 8, Mask::Causal},       // a few rows, backward too
                                           AttentionCase{4, 0, 6, 2, 16, Mask::Causal, 2, 0.0f, 1.5f},  // window, cap
                                           AttentionCase{5, 20, 9, 3, 64, Mask::Causal},     // tiles from 5 rows
                                           AttentionCase{70, 100, 4, 2, 16, Mask::Causal},   // prefill after history
                                           AttentionCase{150, 0, 6, 2, 16, Mask::Causal, 20},    // window across tiles
                                           AttentionCase{150, 0, 4, 4, 16, Mask::Packed, 30},    // window in segments
                                           AttentionCase{150, 0, 6, 2, 16, Mask::SharedPrefix, 70},  // into the prefix
                                           AttentionCase{1, 37, 4, 2, 16, Mask::Causal, 8},      // decode, window
                                           AttentionCase{70, 100, 4, 2, 16, Mask::Causal, 50, 0.3f},  // and a scale
                                           // Softcapped scores (|score| ~1-2 against a cap of 1.5): training
                                           // shapes with a window and a prefix, and a decode step.
                                           AttentionCase{150, 0, 6, 2, 16, Mask::SharedPrefix, 70, 0.0f, 1.5f},
                                           AttentionCase{150, 0, 4, 4, 16, Mask::Packed, 0, 0.5f, 1.5f},
                                           AttentionCase{1, 37, 4, 2, 16, Mask::Causal, 8, 0.0f, 1.5f},
                                           // head_dim 32 and 64, which the tiles multiply: every mask,
                                           // a window and a cap, a history, whole tiles and a part one.
                                           AttentionCase{150, 0, 6, 2, 32, Mask::Causal},
                                           AttentionCase{150, 0, 4, 2, 32, Mask::Packed, 30},
                                           AttentionCase{200, 0, 6, 2, 32, Mask::SharedPrefix, 70, 0.0f, 1.5f},
                                           AttentionCase{128, 0, 9, 3, 64, Mask::SharedPrefix},
                                           AttentionCase{70, 100, 4, 2, 64, Mask::Causal, 50, 0.3f}));

// Rows of a (rows, width) tensor, in the order given.
std::vector<float> take_rows(const std::vector<float>& x, int64_t width, const std::vector<int64_t>& rows) {
  std::vector<float> out;
  for (int64_t r : rows) out.insert(out.end(), x.begin() + r * width, x.begin() + (r + 1) * width);
  return out;
}

std::vector<int64_t> row_range(int64_t begin, int64_t end) {
  std::vector<int64_t> rows;
  for (int64_t r = begin; r < end; ++r) rows.push_back(r);
  return rows;
}

// [prompt, first, second] with the shared-prefix mask computes what the two
// causal sequences [prompt, first] and [prompt, second] compute: each answer
// row's output, each query's gradient, and key/value gradients that add up
// where the prompt serves both.
TEST(AttentionSharedPrefix, EqualsTheTwoSequencesItStandsFor) {
  for (const int64_t window : {0, 30, 60}) {
  SCOPED_TRACE(window);
  const int64_t prompt = 50, first = 40, second = 45, t = prompt + first + second, heads = 4, kv_heads = 2, dim = 16;
  const int64_t q_width = heads * dim, kv_width = kv_heads * dim;
  const auto q = random_values(t * q_width, 1), k = random_values(t * kv_width, 2), v = random_values(t * kv_width, 3);
  const auto dout = random_values(t * q_width, 4);
  struct Result {
    std::vector<float> out, dq, dk, dv;
  };
  auto run = [&](const std::vector<int64_t>& rows, const std::vector<float>& d_out, const int32_t* segment_begin,
                 const int32_t* prefix_end) {
    const int64_t n = int64_t(rows.size());
    AttentionShape s{n, 0, heads, kv_heads, dim, segment_begin, prefix_end};
    s.window = window;
    const auto qs = take_rows(q, q_width, rows), ks = take_rows(k, kv_width, rows), vs = take_rows(v, kv_width, rows);
    const auto douts = take_rows(d_out, q_width, rows);
    Result r{std::vector<float>(size_t(n * q_width)), std::vector<float>(size_t(n * q_width)),
             std::vector<float>(size_t(n * kv_width), 0.0f), std::vector<float>(size_t(n * kv_width), 0.0f)};
    std::vector<float> lse(size_t(n * heads));
    attention_forward(r.out.data(), lse.data(), qs.data(), ks.data(), vs.data(), s);
    attention_backward(r.dq.data(), r.dk.data(), r.dv.data(), douts.data(), qs.data(), ks.data(), vs.data(),
                       r.out.data(), lse.data(), s);
    return r;
  };
  const SharedPrefixMask mask(prompt, first, second);
  const Result shared = run(row_range(0, t), dout, mask.segment_begin.data(), mask.prefix_end.data());
  std::vector<int64_t> second_rows = row_range(0, prompt);
  for (int64_t r = prompt + first; r < t; ++r) second_rows.push_back(r);
  // The prompt's own rows are counted once, in the first sequence.
  std::vector<float> answers_only = dout;
  std::fill(answers_only.begin(), answers_only.begin() + prompt * q_width, 0.0f);
  const Result a = run(row_range(0, prompt + first), dout, nullptr, nullptr);
  const Result b = run(second_rows, answers_only, nullptr, nullptr);

  auto expect_rows = [](const std::vector<float>& got, int64_t got_row, const std::vector<float>& want, int64_t want_row,
                        int64_t rows, int64_t width, const char* what) {
    const std::vector<float> g(got.begin() + got_row * width, got.begin() + (got_row + rows) * width);
    const std::vector<float> w(want.begin() + want_row * width, want.begin() + (want_row + rows) * width);
    EXPECT_LT(max_abs_diff(g, w), 1e-4f) << what << " rows " << got_row << "..";
  };
  expect_rows(shared.out, 0, a.out, 0, prompt + first, q_width, "out");
  expect_rows(shared.out, prompt + first, b.out, prompt, second, q_width, "out");
  expect_rows(shared.dq, 0, a.dq, 0, prompt + first, q_width, "dq");
  expect_rows(shared.dq, prompt + first, b.dq, prompt, second, q_width, "dq");
  for (const auto& [got, want_a, want_b, what] :
       {std::tuple{&shared.dk, &a.dk, &b.dk, "dk"}, std::tuple{&shared.dv, &a.dv, &b.dv, "dv"}}) {
    std::vector<float> prompt_sum(want_a->begin(), want_a->begin() + prompt * kv_width);
    for (size_t i = 0; i < prompt_sum.size(); ++i) prompt_sum[i] += (*want_b)[i];
    expect_rows(*got, 0, prompt_sum, 0, prompt, kv_width, what);
    expect_rows(*got, prompt, *want_a, prompt, first, kv_width, what);
    expect_rows(*got, prompt + first, *want_b, prompt, second, kv_width, what);
  }
  }
}

// Window 2 over three positions, all scores equal (q = 0): query 0 sees key 0,
// query 1 keys 0-1, query 2 keys 1-2 (distance 2 is outside): outputs v0,
// (v0 + v1) / 2, (v1 + v2) / 2.
TEST(AttentionWindow, TheEdgeIsDistanceWindowExcluded) {
  const std::vector<float> q(3, 0.0f), k = {1.0f, 2.0f, 3.0f}, v = {10.0f, 20.0f, 40.0f};
  AttentionShape s{3, 0, 1, 1, 1};
  s.window = 2;
  std::vector<float> out(3);
  attention_forward(out.data(), nullptr, q.data(), k.data(), v.data(), s);
  EXPECT_FLOAT_EQ(out[0], 10.0f);
  EXPECT_FLOAT_EQ(out[1], 15.0f);
  EXPECT_FLOAT_EQ(out[2], 30.0f);
}

}  // namespace
}  // namespace whet
