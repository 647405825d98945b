#include "tune/numeric_scale.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet::tune {

double to_scale(const Distribution& d, double value) { return d.log ? std::log(value) : value; }

Scale scale_of(const Distribution& d) {
  WHET_ASSERT(d.kind != Distribution::Kind::Categorical);
  return {to_scale(d, d.low - d.step / 2), to_scale(d, d.high + d.step / 2)};
}

double from_scale(const Distribution& d, double x) {
  double value = d.log ? std::exp(x) : x;
  if (d.step > 0) value = d.low + std::nearbyint((value - d.low) / d.step) * d.step;
  return std::clamp(value, d.low, d.high);
}

std::pair<double, double> cell(const Distribution& d, double value) {
  WHET_ASSERT(d.step > 0);
  return {to_scale(d, value - d.step / 2), to_scale(d, value + d.step / 2)};
}

}  // namespace whet::tune
