#include "cli/bench_profile.h"

#include <fmt/format.h>
#include <omp.h>

#include "core/resource_usage.h"

namespace whet::cli {

namespace {

double profile_cpu_start = 0;

double named_seconds(const StepProfile& p) {
  double sum = 0;
  for (const PhaseTime& phase : p.phases) sum += phase.seconds;
  return sum;
}

double busy_share(const StepProfile& p) { return p.cpu_s / (p.wall_s * p.threads); }

}  // namespace

void start_step_profile() {
  set_phase_profiling(true);
  profile_cpu_start = process_cpu_seconds();
}

StepProfile finish_step_profile(int steps, double wall_s) {
  StepProfile p;
  p.steps = steps;
  p.threads = omp_get_max_threads();
  p.wall_s = wall_s;
  p.cpu_s = process_cpu_seconds() - profile_cpu_start;
  p.phases = phase_times();
  set_phase_profiling(false);
  return p;
}

void print_step_profile(const StepProfile& p, double min_share) {
  const double per_step = 1e3 / p.steps;  // seconds summed over the steps -> ms per step
  auto row = [&](const std::string& name, double calls, double seconds, double flops) {
    const std::string rate = flops > 0 ? fmt::format("{:.0f}", flops / seconds / 1e9) : "";
    fmt::print("{:<40} {:>8.0f} {:>10.1f} {:>6.1f}% {:>9}\n", name, calls / p.steps, seconds * per_step,
               100 * seconds / p.wall_s, rate);
  };
  fmt::print("\nprofile of the {} measured steps: exclusive wall time by phase (core/phase_timer.h)\n", p.steps);
  fmt::print("{:<40} {:>8} {:>10} {:>7} {:>9}\n", "phase", "calls", "ms/step", "share", "GFLOP/s");
  double small_seconds = 0, small_calls = 0;
  for (const PhaseTime& phase : p.phases) {
    if (phase.seconds < min_share * p.wall_s) {
      small_seconds += phase.seconds, small_calls += double(phase.calls);
      continue;
    }
    row(phase.phase, double(phase.calls), phase.seconds, phase.flops);
  }
  if (small_calls > 0) row(fmt::format("(phases under {:.1f}% each)", 100 * min_share), small_calls, small_seconds, 0);
  row("(outside every phase)", 0, p.wall_s - named_seconds(p), 0);
  fmt::print("threads busy {:.1f}% of {} threads x wall time (CPU time {:.2f} s over {:.2f} s wall)\n",
             100 * busy_share(p), p.threads, p.cpu_s, p.wall_s);
}

nlohmann::json step_profile_json(const StepProfile& p) {
  nlohmann::json phases = nlohmann::json::array();
  for (const PhaseTime& phase : p.phases)
    phases.push_back({{"phase", phase.phase},
                      {"calls_per_step", double(phase.calls) / p.steps},
                      {"ms_per_step", 1e3 * phase.seconds / p.steps},
                      {"gflops", phase.flops > 0 ? phase.flops / phase.seconds / 1e9 : 0.0}});
  return {{"phases", phases},
          {"outside_ms_per_step", 1e3 * (p.wall_s - named_seconds(p)) / p.steps},
          {"threads", p.threads},
          {"threads_busy", busy_share(p)}};
}

}  // namespace whet::cli
