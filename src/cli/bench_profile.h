#pragma once
// `whet bench train --profile`: the measured steps' time by phase (each kernel's
// exclusive wall time, a matmul by its shape; core/phase_timer.h), what no named
// phase covers, and how busy the worker threads were (CPU time over wall time ×
// threads: the rest is threads waiting at barriers or for memory to be mapped).
#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_measure.h"
#include "core/phase_timer.h"

namespace whet::cli {

// The --profile flag's help, one text for every bench command that has it.
inline constexpr const char* kProfileFlagHelp =
    "Also time the measured steps by phase: each kernel's exclusive wall time, a matmul by its shape and GFLOP/s, "
    "the time outside them, and how busy the threads were";

struct StepProfile {
  int steps = 0, threads = 0;
  double wall_s = 0, cpu_s = 0;
  std::vector<PhaseTime> phases;
};

// Profiling of the steps between the two calls; wall_s is the steps' own time.
void start_step_profile();
StepProfile finish_step_profile(int steps, double wall_s);

// median_seconds over `repeats` calls of fn; with `profile`, its phases summed into `out`.
template <typename Fn>
double median_seconds_profiled(int repeats, bool profile, const Fn& fn, StepProfile& out) {
  if (!profile) return median_seconds(repeats, fn);
  double wall = 0;
  start_step_profile();
  const double median = median_seconds(repeats, [&] {
    const auto start = std::chrono::steady_clock::now();
    fn();
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  out = finish_step_profile(repeats, wall);
  return median;
}

// The table, per step: phases longest first (those under `min_share` of the step
// folded into one row), then the time outside every phase and the threads' busy share.
void print_step_profile(const StepProfile& p, double min_share = 0.005);
nlohmann::json step_profile_json(const StepProfile& p);

}  // namespace whet::cli
