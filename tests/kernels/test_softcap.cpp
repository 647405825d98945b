// Logit softcapping worked out by hand: the cap on a few values and its slope,
// and one attention row whose scores the cap bends.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/attention.h"
#include "kernels/softcap.h"

namespace whet {
namespace {

// cap 2: x -> 2·tanh(x / 2), slope 1 − tanh²(x / 2):
//   0 -> 0 (slope 1); 0.5 -> 2·tanh(0.25) = 0.489837325 (0.940014849);
//   2 -> 2·tanh(1) = 1.523188312 (0.419974342); −4 -> 2·tanh(−2) = −1.928055160 (0.070650825);
//   30 -> 2·tanh(15) = 2 − 3.7e-13 (slope ~0: far past the cap, nothing flows back).
TEST(Softcap, CapsAndSlopesByHand) {
  std::vector<float> x = {0.0f, 0.5f, 2.0f, -4.0f, 30.0f};
  softcap_forward(x.data(), int64_t(x.size()), 2.0f);
  const std::vector<float> capped = {0.0f, 0.489837325f, 1.523188312f, -1.928055160f, 2.0f};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], capped[i], 1e-6f) << i;

  std::vector<float> grad(x.size(), 3.0f);
  softcap_backward(grad.data(), x.data(), int64_t(x.size()), 2.0f);
  const std::vector<float> slopes = {1.0f, 0.940014849f, 0.419974342f, 0.070650825f, 0.0f};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(grad[i], 3.0f * slopes[i], 3e-6f) << i;
}

TEST(Softcap, NoCapLeavesValuesAndGradients) {
  std::vector<float> x = {-7.0f, 0.25f, 40.0f}, grad = {1.0f, 2.0f, 3.0f};
  const std::vector<float> x0 = x, grad0 = grad;
  softcap_forward(x.data(), 3, 0.0f);
  softcap_backward(grad.data(), x.data(), 3, 0.0f);
  EXPECT_EQ(x, x0);
  EXPECT_EQ(grad, grad0);
  EXPECT_EQ(softcap_slope(40.0f, softcap_inverse(0.0f)), 1.0f);
}

// One query (q = 2) after one key of history, keys k = (1, 3), values (10, 20),
// scale 1, cap 4: scores (2, 6) become 4·tanh(0.5) = 1.848468629 and
// 4·tanh(1.5) = 3.620593015; p(second) = 1 / (1 + e^(1.848468629 − 3.620593015))
// = 0.854721660, out = 10 + 10·0.854721660 = 18.547216603. Uncapped it would be
// 10 + 10 / (1 + e^-4) = 19.820137900.
TEST(Softcap, BendsAttentionScoresBeforeTheSoftmax) {
  const std::vector<float> q = {2.0f}, k = {1.0f, 3.0f}, v = {10.0f, 20.0f};
  AttentionShape s{1, 1, 1, 1, 1};
  s.scale = 1.0f;
  s.softcap = 4.0f;
  float out = 0.0f, lse = 0.0f, reference = 0.0f;
  attention_forward(&out, &lse, q.data(), k.data(), v.data(), s);
  attention_forward_reference(&reference, q.data(), k.data(), v.data(), s);
  EXPECT_NEAR(out, 18.547216603f, 2e-5f);
  EXPECT_NEAR(reference, 18.547216603f, 2e-5f);
}

}  // namespace
}  // namespace whet
