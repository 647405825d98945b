#pragma once
// The standard normal truncated to [a, b], in logs so that TPE's kernels stay
// exact far into their tails (a kernel's width may be 1/100 of the range, so a
// value sits up to 100 standard deviations away): the kernels' densities and
// draws, as Optuna's TPE computes them.
namespace whet::tune {

// log Φ(x), the standard normal's log CDF, accurate in the far lower tail too.
double log_normal_cdf(double x);

// log(Φ(b) − Φ(a)) for a < b, without cancellation in either tail.
double log_normal_mass(double a, double b);

// log φ(z), the standard normal's log density.
double normal_log_density(double z);

// The quantile u ∈ [0, 1) of the standard normal truncated to [a, b]: a draw when u is uniform.
double truncated_normal_quantile(double u, double a, double b);

}  // namespace whet::tune
