#pragma once
// The axes of a study's plots (tune/study_plots.h): where a value lies along an
// axis, and which values get a labelled tick. A number axis is linear or
// logarithmic, its ends widened to round ticks so that both ends are labelled;
// a band axis gives each of some categories an equal band, the category's index
// at the band's middle.
#include <string>
#include <vector>

namespace whet::tune {

struct Tick {
  double value;
  std::string label;
};

struct Axis {
  enum class Kind { Linear, Log, Band };
  Kind kind = Kind::Linear;
  double low = 0, high = 1;  // the ends: values, or (band) 0 and the count of bands
  std::vector<Tick> ticks;

  // Where `value` lies: 0 at the low end, 1 at the high end.
  double fraction(double value) const;
};

// The step of about `target` ticks over `span` (> 0): 1, 2 or 5 times a power of ten.
double nice_step(double span, int target);

// Ticks a nice_step apart (at least 1 for integers) over [min, max], the ends
// at the ticks just outside; a single value gets a span around it.
Axis linear_axis(double min, double max, bool integers = false);
// For 0 < min ≤ max: the ends at powers of ten; a tick at each power (every
// second or more past six decades), and at 2 and 5 times each within two decades.
Axis log_axis(double min, double max);
// One band per label, in order; value i is the middle of band i.
Axis band_axis(std::vector<std::string> labels);

}  // namespace whet::tune
