// EWC and L2-SP's penalty λ/2·Σ F(θ−θ*)² and its gradient λ·F·(θ−θ*): by hand,
// and against PyTorch autograd on random values (tests/python/make_fisher_reference.py).
#include <gtest/gtest.h>

#include <vector>

#include "io/safetensors.h"
#include "test_support.h"
#include "train/anchor_penalty.h"

namespace whet {
namespace {

// F = [2, 0.5], θ − θ* = [0.1, −0.2], λ = 10:
//   penalty = 10/2 · (2·0.01 + 0.5·0.04) = 5 · 0.04 = 0.2
//   gradient = 10 · [2·0.1, 0.5·(−0.2)] = [2, −1]
TEST(AnchorPenalty, HandWorkedEwc) {
  const std::vector<float> value = {1.1f, -0.2f}, anchor = {1.0f, 0.0f}, fisher = {2.0f, 0.5f};
  std::vector<float> grad = {0.0f, 0.0f};
  EXPECT_NEAR(quadratic_penalty(grad.data(), value.data(), anchor.data(), fisher.data(), 2, 10.0), 0.2, 1e-6);
  EXPECT_NEAR(grad[0], 2.0f, 1e-5f);
  EXPECT_NEAR(grad[1], -1.0f, 1e-6f);
}

// L2-SP is F = 1: penalty 10/2 · (0.01 + 0.04) = 0.25, gradient [1, −2], added to what is there.
TEST(AnchorPenalty, HandWorkedL2spAddsToTheGradient) {
  const std::vector<float> value = {1.1f, -0.2f}, anchor = {1.0f, 0.0f};
  std::vector<float> grad = {0.5f, 0.5f};
  EXPECT_NEAR(quadratic_penalty(grad.data(), value.data(), anchor.data(), nullptr, 2, 10.0), 0.25, 1e-6);
  EXPECT_NEAR(grad[0], 1.5f, 1e-5f);
  EXPECT_NEAR(grad[1], -1.5f, 1e-5f);
}

TEST(AnchorPenalty, AddsOverParametersAndAnchorsNewOnes) {
  std::vector<float> a = {1.1f, -0.2f}, ga(2, 0.0f), b = {3.0f}, gb(1, 0.0f);
  const std::vector<Parameter> params = {{"a", a.data(), ga.data(), 2}, {"b", b.data(), gb.data(), 1}};
  AnchorPenalty penalty{10.0, {{"a", Anchor{{1.0f, 0.0f}, {2.0f, 0.5f}}}}};
  anchor_new_parameters(penalty, params);  // b: θ* = 3, F = 1
  EXPECT_EQ(penalty.anchors.at("b").value, std::vector<float>{3.0f});
  EXPECT_EQ(penalty.anchors.at("a").value, (std::vector<float>{1.0f, 0.0f})) << "an existing anchor was replaced";
  b[0] = 3.5f;  // 10/2 · 0.25 = 1.25 more
  EXPECT_NEAR(add_penalty_gradient(penalty, params), 0.2 + 1.25, 1e-6);
  EXPECT_NEAR(gb[0], 5.0f, 1e-6f);
  EXPECT_EQ(add_penalty_gradient(AnchorPenalty{}, params), 0.0) << "off: no penalty";
}

// Chunked over many values (more than one chunk of the sum): value and gradient as PyTorch computes them in float64.
TEST(AnchorPenalty, MatchesPyTorch) {
  const std::string path = test::testdata_path("fisher/penalty.safetensors");
  const SafetensorsFile file = SafetensorsFile::open(path);
  auto tensor = [&](const std::string& name) {
    const TensorView* t = file.find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    const float* data = reinterpret_cast<const float*>(t->data);
    return std::vector<float>(data, data + t->numel());
  };
  std::vector<float> value = tensor("value"), grad(value.size(), 0.0f);
  const std::vector<float> anchor = tensor("anchor"), fisher = tensor("fisher"), want = tensor("grad");
  const double lambda = std::stod(file.metadata.at("lambda")), want_penalty = std::stod(file.metadata.at("penalty"));
  ASSERT_GT(value.size(), size_t(1) << 17);
  EXPECT_NEAR(quadratic_penalty(grad.data(), value.data(), anchor.data(), fisher.data(), int64_t(value.size()), lambda),
              want_penalty, 1e-9 * want_penalty);
  for (size_t i = 0; i < grad.size(); ++i) ASSERT_NEAR(grad[i], want[i], 1e-6f * (1.0f + std::abs(want[i]))) << i;
}

}  // namespace
}  // namespace whet
