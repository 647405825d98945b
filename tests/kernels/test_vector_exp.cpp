// vector_exp against double-precision exp: relative error over the whole
// clamped range, values where the reduction leaves no remainder, the clamp's ends.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/vector_exp.h"

namespace whet {
namespace {

double relative_error(float x) {
  const double want = std::exp(double(x));
  return std::abs(double(vector_exp(x)) - want) / want;
}

TEST(VectorExp, RelativeErrorUnder3e7OverTheRange) {
  double worst = 0.0;
  for (float x = -87.0f; x <= 88.0f; x += 1.0e-3f) worst = std::max(worst, relative_error(x));
  // Near zero, where softmax inputs crowd.
  for (float x = -1.0f; x <= 1.0f; x += 1.0e-6f) worst = std::max(worst, relative_error(x));
  EXPECT_LT(worst, 3e-7);
}

TEST(VectorExp, PowersOfTwoAndOne) {
  EXPECT_EQ(vector_exp(0.0f), 1.0f);
  EXPECT_NEAR(vector_exp(float(std::log(2.0))), 2.0f, 2.0f * 3e-7f);
  EXPECT_NEAR(vector_exp(-float(std::log(2.0))), 0.5f, 0.5f * 3e-7f);
}

TEST(VectorExp, ClampsToNormalFloats) {
  const float tiny = vector_exp(-1000.0f), huge = vector_exp(1000.0f);
  EXPECT_GT(tiny, 0.0f);
  EXPECT_LT(tiny, 1.3e-38f);
  EXPECT_TRUE(std::isnormal(tiny));
  EXPECT_TRUE(std::isfinite(huge));
  EXPECT_GT(huge, 1.6e38f);
  EXPECT_EQ(vector_exp(-INFINITY), tiny);  // a masked score: as good as zero
}

}  // namespace
}  // namespace whet
