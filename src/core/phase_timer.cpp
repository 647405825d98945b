#include "core/phase_timer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

namespace whet {

namespace {

using Clock = std::chrono::steady_clock;

struct OpenPhase {
  std::string phase;
  double flops = 0;
  Clock::time_point start;
  double nested_seconds = 0;  // time of the phases opened inside this one
};

// Scopes nest per thread; the totals are shared (a server may profile several threads).
thread_local std::vector<OpenPhase> open_phases;
std::mutex totals_mutex;
std::map<std::string, PhaseTime, std::less<>> totals;

}  // namespace

void set_phase_profiling(bool on) {
  std::lock_guard<std::mutex> lock(totals_mutex);
  totals.clear();
  phase_timer_detail::profiling.store(on, std::memory_order_relaxed);
}

std::vector<PhaseTime> phase_times() {
  std::vector<PhaseTime> out;
  {
    std::lock_guard<std::mutex> lock(totals_mutex);
    for (const auto& entry : totals) out.push_back(entry.second);
  }
  std::sort(out.begin(), out.end(), [](const PhaseTime& a, const PhaseTime& b) { return a.seconds > b.seconds; });
  return out;
}

bool phase_timer_detail::in_parallel_region() { return omp_in_parallel(); }

void PhaseScope::open(std::string_view phase, double flops) {
  if (phase_timer_detail::in_parallel_region()) return;
  open_phases.push_back({std::string(phase), flops, Clock::now(), 0.0});
  active_ = true;
}

void PhaseScope::close() {
  OpenPhase done = std::move(open_phases.back());
  open_phases.pop_back();
  const double elapsed = std::chrono::duration<double>(Clock::now() - done.start).count();
  if (!open_phases.empty()) open_phases.back().nested_seconds += elapsed;
  std::lock_guard<std::mutex> lock(totals_mutex);
  if (!phase_profiling()) return;  // turned off while this scope was open
  auto it = totals.find(done.phase);
  if (it == totals.end()) it = totals.emplace(done.phase, PhaseTime{done.phase}).first;
  it->second.seconds += elapsed - done.nested_seconds;
  it->second.calls += 1;
  it->second.flops += done.flops;
}

}  // namespace whet
