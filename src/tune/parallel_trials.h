#pragma once
// Trials at once (docs/tune.md, "Parallel trials"): `whet tune --parallel N`
// runs N workers on threads of the one process, each with its share of the
// cores for its training's OpenMP regions. omp_set_num_threads sets the
// thread count of the calling thread's own parallel regions (OpenMP's
// nthreads-var is per thread), so each worker sets its share without touching
// the others', as `whet serve` runs training beside its decoding thread.
#include <atomic>
#include <functional>

namespace whet::tune {

// Each of `workers` trials' OpenMP threads: the cores OpenMP would use
// (omp_get_max_threads: all of them, or OMP_NUM_THREADS) split evenly, at least one.
int threads_per_worker(int workers);

// Runs `work` on `workers` threads at once (on the calling thread when there
// is one, leaving its thread count alone), each with `threads` OpenMP threads,
// and returns when every one has returned. When one throws, `failed` is set,
// so that the others can stop early, and the first exception is rethrown once
// all have returned.
void run_workers(int workers, int threads, const std::function<void()>& work, std::atomic<bool>& failed);

}  // namespace whet::tune
