// The workers of `whet tune --parallel`: each runs its OpenMP regions with its
// own share of threads while the caller keeps its count, and a worker's error
// stops the others and reaches the caller.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "test_support.h"
#include "tune/parallel_trials.h"

namespace whet::tune {
namespace {

TEST(ParallelTrials, EachWorkerHasItsShareOfThreadsAndTheCallerKeepsItsOwn) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(4);  // as OMP_NUM_THREADS=4 would, whatever the machine
  EXPECT_EQ(threads_per_worker(1), 4);
  EXPECT_EQ(threads_per_worker(2), 2);
  EXPECT_EQ(threads_per_worker(3), 1);
  EXPECT_EQ(threads_per_worker(8), 1);
  std::mutex mutex;
  std::vector<int> teams;
  std::atomic<bool> failed{false};
  run_workers(2, 2, [&] {
    const int size = test::openmp_team_size();
    const std::lock_guard lock(mutex);
    teams.push_back(size);
  }, failed);
  EXPECT_EQ(teams, (std::vector<int>{2, 2}));
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(test::openmp_team_size(), 4);  // the caller's own count is untouched
  omp_set_num_threads(before);
}

TEST(ParallelTrials, AWorkersErrorStopsTheOthersAndReachesTheCaller) {
  std::atomic<int> started{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> other_saw_failure{false};
  test::expect_error(
      [&] {
        run_workers(2, 1, [&] {
          if (started.fetch_add(1) == 0) fail("study.db", "disk full");
          while (!failed.load()) std::this_thread::yield();  // a trial that stops once told to
          other_saw_failure.store(true);
        }, failed);
      },
      {"[study.db] disk full"});
  EXPECT_TRUE(failed.load());
  EXPECT_TRUE(other_saw_failure.load());
}

}  // namespace
}  // namespace whet::tune
