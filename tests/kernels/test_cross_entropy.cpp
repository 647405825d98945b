// The fused LM head + cross-entropy against its whole-logits double-precision
// reference, and the reference against a case worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "kernels/cross_entropy.h"
#include "kernels/quant.h"
#include "random_tensors.h"

namespace whet {
namespace {

using test::max_abs_diff;
using test::random_values;

// h = (1, 2), W rows (1, 0), (0, 1), (1, 1): logits (1, 2, 3), target 1.
//   log-sum-exp = log(e + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.40760596
//   loss = 3.40760596 - 2 = 1.40760596
//   softmax p = (0.09003057, 0.24472847, 0.66524096); d logits = p - onehot(1) = (0.09003057, -0.75527153, 0.66524096)
//   dh = Σ_v dlogit_v W_v = (0.09003057 + 0.66524096, -0.75527153 + 0.66524096) = (0.75527153, -0.09003057)
//   dW_v = dlogit_v h = ((0.09003057, 0.18006114), (-0.75527153, -1.51054306), (0.66524096, 1.33048192))
// A second row with target -1 adds nothing and gets dh = 0.
TEST(CrossEntropyReference, MatchesHandComputedCase) {
  const std::vector<float> w_values = {1, 0, 0, 1, 1, 1};
  const Weight w{DType::F32, 3, 2, reinterpret_cast<const uint8_t*>(w_values.data()), nullptr};
  const std::vector<float> h = {1, 2, 5, 5};
  const std::vector<int32_t> targets = {1, -1};
  std::vector<float> dh(4, 7.0f), dweight(6, 0.0f);
  const CrossEntropyResult r = lm_head_cross_entropy_reference(dh.data(), dweight.data(), h.data(), targets.data(), 2, w, 1.0f);
  EXPECT_EQ(r.targets, 1);
  EXPECT_NEAR(r.loss_sum, 1.40760596, 1e-7);
  const std::vector<float> want_dh = {0.75527153f, -0.09003057f, 0, 0};
  const std::vector<float> want_dweight = {0.09003057f, 0.18006114f, -0.75527153f, -1.51054306f, 0.66524096f, 1.33048192f};
  EXPECT_LT(max_abs_diff(dh, want_dh), 1e-6f);
  EXPECT_LT(max_abs_diff(dweight, want_dweight), 1e-6f);
}

// More rows than one chunk, a third of them without a target, over an f32 and a
// Q8_0 head (the fused kernel decodes the latter once, the reference row by row):
// 800 targets are seven chunks of 128, the head's gradient summed over them.
class CrossEntropyFused : public ::testing::TestWithParam<DType> {};

TEST_P(CrossEntropyFused, MatchesReference) {
  const DType dtype = GetParam();
  const int64_t n = 1200, c = 64, vocab = 300;
  const float grad_scale = 1.0f / 100.0f;
  const std::vector<float> w_values = random_values(vocab * c, 11);
  std::vector<uint8_t> encoded(dtype_bytes(dtype, vocab * c));
  quantize(dtype, w_values.data(), encoded.data(), vocab * c);
  const Weight w{dtype, vocab, c, encoded.data(), nullptr};
  const std::vector<float> h = random_values(n * c, 12);
  std::vector<int32_t> targets(n);
  for (int64_t i = 0; i < n; ++i) targets[i] = i % 3 == 2 ? -1 : int32_t((i * 37) % vocab);

  std::vector<float> dh(n * c), dweight(vocab * c, 0.5f), want_dh(n * c), want_dweight(vocab * c, 0.5f);
  const CrossEntropyResult got = lm_head_cross_entropy(dh.data(), dweight.data(), h.data(), targets.data(), n, w, grad_scale);
  const CrossEntropyResult want =
      lm_head_cross_entropy_reference(want_dh.data(), want_dweight.data(), h.data(), targets.data(), n, w, grad_scale);
  EXPECT_EQ(got.targets, 800);
  EXPECT_EQ(got.targets, want.targets);
  // Logits are fp32 sums of 64 unit-variance products (|logit| ~ 8, rounding
  // ~1e-6 each); the reference sums in double. 1e-5 relative leaves a margin.
  EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-5 * std::fabs(want.loss_sum));
  // Gradients are scaled by 1/100; dweight accumulates onto its 0.5 start (+=).
  EXPECT_LT(max_abs_diff(dh, want_dh), 1e-5f);
  EXPECT_LT(max_abs_diff(dweight, want_dweight), 1e-5f);

  // Without dh only the loss is made, and it is the same.
  const CrossEntropyResult loss_only = lm_head_cross_entropy(nullptr, nullptr, h.data(), targets.data(), n, w, grad_scale);
  EXPECT_DOUBLE_EQ(loss_only.loss_sum, got.loss_sum);

  // Without the head's own gradient (LoRA's head is frozen), dh alone.
  std::vector<float> frozen_head_dh(n * c);
  lm_head_cross_entropy(frozen_head_dh.data(), nullptr, h.data(), targets.data(), n, w, grad_scale);
  EXPECT_LT(max_abs_diff(frozen_head_dh, want_dh), 1e-5f);

  // Softcapped logits (|logit| ~8 against a cap of 4, so tanh bends them): loss
  // and both gradients through the cap's slope, and a loss unlike the uncapped one.
  std::vector<float> capped_dh(n * c), capped_dweight(vocab * c, 0.5f), want_capped_dh(n * c),
      want_capped_dweight(vocab * c, 0.5f);
  const CrossEntropyResult capped = lm_head_cross_entropy(capped_dh.data(), capped_dweight.data(), h.data(),
                                                          targets.data(), n, w, grad_scale, {}, {}, 4.0f);
  const CrossEntropyResult want_capped =
      lm_head_cross_entropy_reference(want_capped_dh.data(), want_capped_dweight.data(), h.data(), targets.data(), n,
                                      w, grad_scale, {}, {}, 4.0f);
  EXPECT_NEAR(capped.loss_sum, want_capped.loss_sum, 1e-5 * std::fabs(want_capped.loss_sum));
  EXPECT_GT(std::fabs(capped.loss_sum - got.loss_sum), 0.1 * std::fabs(got.loss_sum));
  EXPECT_LT(max_abs_diff(capped_dh, want_capped_dh), 1e-5f);
  EXPECT_LT(max_abs_diff(capped_dweight, want_capped_dweight), 1e-5f);
}

// Per-row weights (GRPO's token weights) scale each row's gradient, and each
// row's loss comes back: the same as the reference's, and a row of weight w
// gives w times the gradient of the unweighted row.
TEST_P(CrossEntropyFused, RowWeightsAndLossesMatchReference) {
  const DType dtype = GetParam();
  const int64_t n = 90, c = 32, vocab = 200;
  const std::vector<float> w_values = random_values(vocab * c, 21);
  std::vector<uint8_t> encoded(dtype_bytes(dtype, vocab * c));
  quantize(dtype, w_values.data(), encoded.data(), vocab * c);
  const Weight w{dtype, vocab, c, encoded.data(), nullptr};
  const std::vector<float> h = random_values(n * c, 22);
  std::vector<int32_t> targets(n);
  std::vector<float> weights(n);
  for (int64_t i = 0; i < n; ++i) {
    targets[i] = i % 4 == 3 ? -1 : int32_t((i * 13) % vocab);
    weights[i] = float(i % 5) - 2.0f;  // negative, zero and positive weights
  }
  std::vector<double> losses(n, -1.0), want_losses(n, -1.0);
  std::vector<float> dh(n * c), dweight(vocab * c, 0.0f), want_dh(n * c), want_dweight(vocab * c, 0.0f);
  const CrossEntropyResult got = lm_head_cross_entropy(dh.data(), dweight.data(), h.data(), targets.data(), n, w, 0.5f,
                                                       {}, RowTerms{weights.data(), losses.data()});
  const CrossEntropyResult want = lm_head_cross_entropy_reference(want_dh.data(), want_dweight.data(), h.data(),
                                                                  targets.data(), n, w, 0.5f, {},
                                                                  RowTerms{weights.data(), want_losses.data()});
  EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-5 * std::fabs(want.loss_sum));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(losses[i], want_losses[i], 1e-5 * std::fabs(want_losses[i]) + 1e-6) << i;
    if (targets[i] < 0) {
      EXPECT_EQ(losses[i], -1.0) << "a row without a target is left as it was";
    } else {
      sum += losses[i];
    }
  }
  EXPECT_NEAR(sum, got.loss_sum, 1e-9 * std::fabs(sum));
  EXPECT_LT(max_abs_diff(dh, want_dh), 1e-5f);
  EXPECT_LT(max_abs_diff(dweight, want_dweight), 1e-5f);
  // Row 1 has weight -1: its dh is minus the unweighted row's.
  std::vector<float> plain_dh(n * c);
  lm_head_cross_entropy(plain_dh.data(), nullptr, h.data(), targets.data(), n, w, 0.5f);
  for (int64_t j = 0; j < c; ++j) EXPECT_NEAR(dh[c + j], -plain_dh[c + j], 1e-6f);
  for (int64_t j = 0; j < c; ++j) EXPECT_EQ(dh[2 * c + j], 0.0f);  // row 2 has weight 0
}

// A bf16 head multiplies h and the logits' gradient rounded to bf16 (the loss
// writes that gradient rounded as it makes it): the loss and both gradients stay
// within bf16's precision of the reference on the same bf16 weights (rounding h
// moves a logit ~8 by about 8 · 2^-9 · sqrt(64) / 8, the gradient's rounding
// each value by 2^-9), with and without the row weights and distillation's teacher.
TEST(CrossEntropyBf16Head, StaysWithinBf16OfTheReference) {
  const int64_t n = 150, c = 64, vocab = 300;
  const std::vector<float> w_values = random_values(vocab * c, 31);
  std::vector<uint16_t> encoded(size_t(vocab * c));
  quantize(DType::BF16, w_values.data(), reinterpret_cast<uint8_t*>(encoded.data()), vocab * c);
  const Weight w{DType::BF16, vocab, c, reinterpret_cast<const uint8_t*>(encoded.data()), nullptr};
  const std::vector<float> h = random_values(n * c, 32), teacher = random_values(n * c, 33);
  std::vector<int32_t> targets(n);
  std::vector<float> weights(n);
  for (int64_t i = 0; i < n; ++i) {
    targets[i] = i % 3 == 2 ? -1 : int32_t((i * 37) % vocab);
    weights[i] = float(i % 4) - 1.0f;
  }
  for (const bool weighted : {false, true})
    for (const bool distilled : {false, true}) {
      SCOPED_TRACE(testing::Message() << "weighted " << weighted << ", distilled " << distilled);
      const RowTerms terms{weighted ? weights.data() : nullptr, nullptr};
      const HeadDistillation distill{distilled ? teacher.data() : nullptr, 2.0f, 0.01f};
      std::vector<float> dh(n * c), want_dh(n * c);
      const CrossEntropyResult got =
          lm_head_cross_entropy(dh.data(), nullptr, h.data(), targets.data(), n, w, 0.01f, distill, terms);
      const CrossEntropyResult want = lm_head_cross_entropy_reference(want_dh.data(), nullptr, h.data(), targets.data(),
                                                                      n, w, 0.01f, distill, terms);
      EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-2 * std::fabs(want.loss_sum));
      EXPECT_LT(test::relative_l2(dh, want_dh), 2e-2);
    }
}

INSTANTIATE_TEST_SUITE_P(Encodings, CrossEntropyFused, ::testing::Values(DType::F32, DType::Q8_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace whet
