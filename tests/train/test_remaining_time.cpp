// The time left of a run from its steps' measured times, given here by hand (no clock).
#include <gtest/gtest.h>

#include "train/remaining_time.h"

namespace whet {
namespace {

TEST(RemainingTime, MeanOfTheStepsSoFarNotTheLast) {
  RemainingTime t;
  EXPECT_EQ(t.seconds_for(10), 0.0);
  t.add_step(0, 1.0);
  t.add_step(0, 3.0);  // mean 2 s; the last step alone would say 3
  EXPECT_DOUBLE_EQ(t.seconds_for(10), 20.0);
}

// A head on a frozen base: 4 s per step while the first epoch computes the
// features, 0.01 s after. Once a later epoch has run, the first no longer counts.
TEST(RemainingTime, FirstEpochLeftOutOnceALaterOneRan) {
  RemainingTime t;
  for (int i = 0; i < 5; ++i) t.add_step(0, 4.0);
  EXPECT_DOUBLE_EQ(t.seconds_for(100), 400.0);  // nothing better known yet
  t.add_step(1, 0.01);
  t.add_step(1, 0.03);
  t.add_step(2, 0.02);
  EXPECT_NEAR(t.seconds_for(100), 2.0, 1e-12);
}

// A resumed run's first epoch is the one whose features it computes again.
TEST(RemainingTime, AResumedRunStartsItsOwnFirstEpoch) {
  RemainingTime t;
  t.add_step(3, 5.0);
  t.add_step(4, 1.0);
  EXPECT_DOUBLE_EQ(t.seconds_for(3), 3.0);
}

}  // namespace
}  // namespace whet
