// Workers for trials at once (tune/parallel_trials.h).
#include "tune/parallel_trials.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace whet::tune {

int threads_per_worker(int workers) {
  WHET_ASSERT(workers >= 1);
  return std::max(1, omp_get_max_threads() / workers);
}

void run_workers(int workers, int threads, const std::function<void()>& work, std::atomic<bool>& failed) {
  WHET_ASSERT(workers >= 1 && threads >= 1);
  if (workers == 1) return work();
  std::mutex mutex;
  std::exception_ptr first;
  std::vector<std::thread> pool;
  for (int i = 0; i < workers; ++i)
    pool.emplace_back([&] {
      omp_set_num_threads(threads);
      try {
        work();
      } catch (...) {
        failed.store(true);
        const std::lock_guard lock(mutex);
        if (!first) first = std::current_exception();
      }
    });
  for (std::thread& thread : pool) thread.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace whet::tune
