// release_openmp_team: a thread's team goes and the next region makes a new
// one; inside a region nothing is released.
#include <gtest/gtest.h>

#include <omp.h>

#include "core/openmp_team.h"

namespace whet {
namespace {

int threads_of_a_region() {
  int threads = 0;
#pragma omp parallel
#pragma omp single
  threads = omp_get_num_threads();
  return threads;
}

TEST(OpenmpTeam, ReleasedBetweenRegionsAndMadeAgain) {
  const int before = threads_of_a_region();
  EXPECT_TRUE(release_openmp_team());
  EXPECT_EQ(threads_of_a_region(), before);
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
