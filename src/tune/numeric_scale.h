#pragma once
// A float or int parameter on the line the samplers work on, as Optuna's: the
// logarithm of the value on a log scale, and for a stepped parameter (every
// int) each value the middle of a cell one step wide, so the end values get
// whole cells too.
#include <utility>

#include "tune/trial.h"

namespace whet::tune {

struct Scale {
  double low, high;  // the outer edges of the end cells
};
Scale scale_of(const Distribution& distribution);

double to_scale(const Distribution& distribution, double value);
// A point of the scale as a value: rounded to the step, within [low, high].
double from_scale(const Distribution& distribution, double x);
// The cell of a stepped value, on the scale.
std::pair<double, double> cell(const Distribution& distribution, double value);

}  // namespace whet::tune
