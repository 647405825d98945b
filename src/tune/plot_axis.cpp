// Axes with round ticks (tune/plot_axis.h).
#include "tune/plot_axis.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet::tune {
namespace {

constexpr int kTargetTicks = 5;
// A value a rounding error away from a tick counts as on it (0.3 / 0.1 = 2.9999999999999996).
constexpr double kSlack = 1e-9;
constexpr int kMaxLogTicks = 6;

std::string tick_label(double value) { return fmt::format("{:.6g}", value); }

}  // namespace

double Axis::fraction(double value) const {
  switch (kind) {
    case Kind::Linear: return (value - low) / (high - low);
    case Kind::Log: return std::log(value / low) / std::log(high / low);
    case Kind::Band: return (value + 0.5) / high;
  }
  WHET_ASSERT(false);
}

double nice_step(double span, int target) {
  WHET_ASSERT(span > 0 && std::isfinite(span) && target > 0);
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double mantissa = raw / power;
  return power * (mantissa <= 1 + kSlack ? 1 : mantissa <= 2 + kSlack ? 2 : mantissa <= 5 + kSlack ? 5 : 10);
}

Axis linear_axis(double min, double max, bool integers) {
  WHET_ASSERT(std::isfinite(min) && std::isfinite(max) && min <= max);
  if (min == max) {
    const double half = integers ? 1 : min == 0 ? 1 : std::abs(min) / 10;
    min -= half;
    max += half;
  }
  const double step = integers ? std::max(1.0, nice_step(max - min, kTargetTicks)) : nice_step(max - min, kTargetTicks);
  const auto first = int64_t(std::floor(min / step + kSlack)), last = int64_t(std::ceil(max / step - kSlack));
  Axis axis{.kind = Axis::Kind::Linear, .low = double(first) * step, .high = double(last) * step};
  for (int64_t k = first; k <= last; ++k) axis.ticks.push_back({double(k) * step, tick_label(double(k) * step)});
  return axis;
}

Axis log_axis(double min, double max) {
  WHET_ASSERT(min > 0 && min <= max && std::isfinite(max));
  const auto first = int(std::floor(std::log10(min) + kSlack));
  int decades = std::max(1, int(std::ceil(std::log10(max) - kSlack)) - first);
  const int stride = (decades + kMaxLogTicks - 1) / kMaxLogTicks;
  decades = (decades + stride - 1) / stride * stride;  // so the high end gets a tick too
  const int last = first + decades;
  Axis axis{.kind = Axis::Kind::Log, .low = std::pow(10.0, first), .high = std::pow(10.0, last)};
  for (int e = first; e <= last; e += stride) {
    const double power = std::pow(10.0, e);
    axis.ticks.push_back({power, tick_label(power)});
    if (decades > 2 || e == last) continue;
    for (double m : {2.0, 5.0}) axis.ticks.push_back({m * power, tick_label(m * power)});
  }
  return axis;
}

Axis band_axis(std::vector<std::string> labels) {
  WHET_ASSERT(!labels.empty());
  Axis axis{.kind = Axis::Kind::Band, .low = 0, .high = double(labels.size())};
  for (std::size_t i = 0; i < labels.size(); ++i) axis.ticks.push_back({double(i), std::move(labels[i])});
  return axis;
}

}  // namespace whet::tune
