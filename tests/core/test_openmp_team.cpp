// release_openmp_team: a thread's team goes and the next region makes a new
// one; inside a region nothing is released.
#include <gtest/gtest.h>

#include "core/openmp_team.h"
#include "test_support.h"

namespace whet {
namespace {

TEST(OpenmpTeam, ReleasedBetweenRegionsAndMadeAgain) {
  const int before = test::openmp_team_size();
  EXPECT_TRUE(release_openmp_team());
  EXPECT_EQ(test::openmp_team_size(), before);
}

TEST(OpenmpTeam, NotReleasedInsideARegion) {
  bool released = true;
#pragma omp parallel num_threads(2)
#pragma omp single
  released = release_openmp_team();
  EXPECT_FALSE(released);
}

}  // namespace
}  // namespace whet
