#pragma once
// libgomp keeps the team of worker threads a thread's parallel regions made
// until that thread exits, and while a second team lives, every parallel
// region of the first takes about twice as long (2 cores: 95 against 48 µs a
// region; docs/performance.md). A server's engine owns the cores' team: threads
// that live on after OpenMP work of their own (loading models, a fine-tuning
// job, a reward model's scores on an HTTP thread) let theirs go when done.
namespace whet {

// Ends the calling thread's team (OpenMP's omp_pause_resource_all, soft); the
// next parallel region makes a new one. False inside a parallel region, where
// nothing is released.
bool release_openmp_team();

}  // namespace whet
