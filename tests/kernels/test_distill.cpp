// Distillation loss T²·KL(p_teacher ‖ p_student) and its gradient: the issue's
// hand-worked case, PyTorch on random logits (tests/python/make_distill_references.py),
// and the fused LM head with distillation against its whole-logits reference.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "kernels/cross_entropy.h"
#include "kernels/distill.h"
#include "random_tensors.h"
#include "test_support.h"

namespace whet {
namespace {

using test::max_abs_diff;
using test::random_values;

// Teacher logits (2, 1, 0), student (1, 1, 1), T = 2:
//   p_t = softmax(1, 0.5, 0) = (e, e^0.5, 1) / (e + e^0.5 + 1) = (0.50648039, 0.30719589, 0.18632372)
//   p_s = (1/3, 1/3, 1/3)
//   KL = Σ p_t log(3 p_t) = 0.50648·0.41834 + 0.30720·(-0.08168) + 0.18632·(-0.58169) = 0.07842095
//   T²·KL = 0.31368381
//   gradient T·(p_s − p_t) = (-0.34629412, 0.05227490, 0.29401922)
constexpr double kHandLoss = 0.31368381;
const std::vector<double> kHandGrad = {-0.34629412, 0.05227490, 0.29401922};

TEST(DistillReference, MatchesHandWorkedCase) {
  const std::vector<double> teacher = {2, 1, 0}, student = {1, 1, 1};
  std::vector<double> grad(3);
  EXPECT_NEAR(distill_row_reference(grad.data(), student.data(), teacher.data(), 3, 2.0), kHandLoss, 1e-8);
  for (int v = 0; v < 3; ++v) EXPECT_NEAR(grad[v], kHandGrad[v], 1e-8) << v;
}

TEST(Distill, MatchesHandWorkedCase) {
  const std::vector<float> teacher = {2, 1, 0}, student = {1, 1, 1};
  std::vector<float> grad(3);
  EXPECT_NEAR(distill_rows(grad.data(), student.data(), teacher.data(), 1, 3, 2.0f, 1.0f), kHandLoss, 1e-7);
  for (int v = 0; v < 3; ++v) EXPECT_NEAR(grad[v], kHandGrad[v], 1e-6) << v;
  // The same in place over the teacher's row, and scaled.
  std::vector<float> in_place = teacher;
  distill_rows(in_place.data(), student.data(), in_place.data(), 1, 3, 2.0f, 0.5f);
  for (int v = 0; v < 3; ++v) EXPECT_NEAR(in_place[v], 0.5 * kHandGrad[v], 1e-6) << v;
}

// Random rows of 50 logits (|z| up to ~9) at T = 1, 2 and 3.5 against torch's
// kl_div and autograd in float64. The kernel works on float logits with double
// sums: 1e-6 relative on the loss and 1e-6 absolute on gradients of size ~1
// leave a margin over float rounding (~1e-7).
TEST(Distill, MatchesPyTorch) {
  WHET_REQUIRE_FILE(test::testdata_path("distill_logits.json"), "tests/python/make_references.sh");
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(test::testdata_path("distill_logits.json")));
  ASSERT_EQ(cases.size(), 9u);
  for (const nlohmann::json& c : cases) {
    const double t = c.at("temperature"), want_loss = c.at("loss");
    const std::vector<double> student = c.at("student"), teacher = c.at("teacher"), want = c.at("grad");
    SCOPED_TRACE(testing::Message() << "T " << t << " loss " << want_loss);
    const int64_t vocab = int64_t(student.size());
    std::vector<double> ref_grad(vocab);
    EXPECT_NEAR(distill_row_reference(ref_grad.data(), student.data(), teacher.data(), vocab, t), want_loss,
                1e-10 * std::max(1.0, want_loss));
    const std::vector<float> s(student.begin(), student.end()), tch(teacher.begin(), teacher.end());
    std::vector<float> grad(vocab);
    EXPECT_NEAR(distill_rows(grad.data(), s.data(), tch.data(), 1, vocab, float(t), 1.0f), want_loss,
                1e-6 * std::max(1.0, want_loss));
    for (int64_t v = 0; v < vocab; ++v) {
      EXPECT_NEAR(ref_grad[v], want[v], 1e-10) << v;
      EXPECT_NEAR(grad[v], want[v], 1e-6) << v;
    }
  }
}

// The LM head with distillation: more rows than one chunk, a third without a
// target; the fused kernel's loss, distillation sum and gradients (the sum of
// both terms') against the whole-logits double-precision reference.
TEST(CrossEntropyFused, DistillationMatchesReference) {
  const int64_t n = 150, c = 64, vocab = 300;
  const std::vector<float> w_values = random_values(vocab * c, 21);
  const Weight w{DType::F32, vocab, c, reinterpret_cast<const uint8_t*>(w_values.data()), nullptr};
  const std::vector<float> h = random_values(n * c, 22);
  std::vector<float> teacher_h = random_values(n * c, 23);
  for (int64_t i = 0; i < n * c; ++i) teacher_h[i] = 0.7f * h[i] + 0.5f * teacher_h[i];  // related, not equal
  std::vector<int32_t> targets(n);
  for (int64_t i = 0; i < n; ++i) targets[i] = i % 3 == 1 ? -1 : int32_t((i * 53) % vocab);
  const HeadDistillation distill{teacher_h.data(), 2.0f, 0.3f / 100.0f};

  std::vector<float> dh(n * c), dweight(vocab * c, 0.5f), want_dh(n * c), want_dweight(vocab * c, 0.5f);
  const CrossEntropyResult got =
      lm_head_cross_entropy(dh.data(), dweight.data(), h.data(), targets.data(), n, w, 0.01f, distill);
  const CrossEntropyResult want = lm_head_cross_entropy_reference(want_dh.data(), want_dweight.data(), h.data(),
                                                                  targets.data(), n, w, 0.01f, distill);
  EXPECT_EQ(got.targets, 100);
  EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-5 * std::fabs(want.loss_sum));
  ASSERT_GT(want.distill_sum, 1.0);  // the teacher differs enough for the term to matter
  EXPECT_NEAR(got.distill_sum, want.distill_sum, 1e-5 * want.distill_sum);
  EXPECT_LT(max_abs_diff(dh, want_dh), 1e-5f);
  EXPECT_LT(max_abs_diff(dweight, want_dweight), 1e-5f);

  // Without distillation the gradient differs: the term is really in it.
  std::vector<float> plain_dh(n * c);
  lm_head_cross_entropy(plain_dh.data(), nullptr, h.data(), targets.data(), n, w, 0.01f);
  EXPECT_GT(max_abs_diff(plain_dh, dh), 1e-4f);
  // Loss only gives the same sums.
  const CrossEntropyResult loss_only = lm_head_cross_entropy(nullptr, nullptr, h.data(), targets.data(), n, w, 0.01f, distill);
  EXPECT_DOUBLE_EQ(loss_only.distill_sum, got.distill_sum);

  // Softcapped logits (a cap of 4 on logits of ~8), the teacher's capped alike: both
  // terms' gradients go back through the cap's slope.
  std::vector<float> capped_dh(n * c), capped_dweight(vocab * c, 0.5f), want_capped_dh(n * c),
      want_capped_dweight(vocab * c, 0.5f);
  const CrossEntropyResult capped = lm_head_cross_entropy(capped_dh.data(), capped_dweight.data(), h.data(),
                                                          targets.data(), n, w, 0.01f, distill, {}, 4.0f);
  const CrossEntropyResult want_capped =
      lm_head_cross_entropy_reference(want_capped_dh.data(), want_capped_dweight.data(), h.data(), targets.data(), n,
                                      w, 0.01f, distill, {}, 4.0f);
  EXPECT_NEAR(capped.loss_sum, want_capped.loss_sum, 1e-5 * std::fabs(want_capped.loss_sum));
  EXPECT_NEAR(capped.distill_sum, want_capped.distill_sum, 1e-5 * want_capped.distill_sum);
  EXPECT_GT(std::fabs(capped.distill_sum - got.distill_sum), 0.05 * got.distill_sum);
  EXPECT_LT(max_abs_diff(capped_dh, want_capped_dh), 1e-5f);
  EXPECT_LT(max_abs_diff(capped_dweight, want_capped_dweight), 1e-5f);
}

}  // namespace
}  // namespace whet
