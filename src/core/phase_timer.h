#pragma once
// Where a run's time goes, by named phase (`whet bench train --profile`).
// Kernels open a PhaseScope around their work; while profiling is off a scope
// costs one relaxed atomic load. Times are wall-clock and exclusive: a phase
// nested in another (a matmul inside the loss) is taken out of its parent's
// time. Only scopes opened outside OpenMP parallel regions count, so a kernel
// that worker threads call (attention's per-head matmuls) is part of its
// caller's time, and the phases of a step add up to at most the step.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whet {

struct PhaseTime {
  std::string phase;
  double seconds = 0;  // exclusive wall time, summed over calls
  int64_t calls = 0;
  double flops = 0;    // summed over calls, when the phase says what it computes (matmuls)
};

namespace phase_timer_detail {
inline std::atomic<bool> profiling{false};
}

namespace phase_timer_detail {
bool in_parallel_region();
}

inline bool phase_profiling() { return phase_timer_detail::profiling.load(std::memory_order_relaxed); }
// Whether a scope opened here would count: profiling is on and this is not a worker
// thread of a parallel region. Callers that format a phase's name ask this first, so
// worker threads never build names that would be thrown away.
inline bool phase_timed_here() { return phase_profiling() && !phase_timer_detail::in_parallel_region(); }
// Turning profiling on or off also clears what was summed so far.
void set_phase_profiling(bool on);
// What was summed since profiling was turned on, longest first.
std::vector<PhaseTime> phase_times();

class PhaseScope {
 public:
  // An empty name opens nothing: a caller may time only some of its calls.
  explicit PhaseScope(std::string_view phase, double flops = 0) {
    if (phase_profiling() && !phase.empty()) open(phase, flops);
  }
  ~PhaseScope() {
    if (active_) close();
  }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  void open(std::string_view phase, double flops);
  void close();
  bool active_ = false;
};

}  // namespace whet
