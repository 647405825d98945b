#pragma once
// How much of the spread of a study's results each parameter explains, by a
// simple estimate: over the complete trials where the parameter was searched,
// the share of the objective's variance that lies between groups of trials
// alike in that parameter alone (one-way ANOVA's η²: a categorical groups by
// choice, a number by rank into up to four bins of equal count). The shares
// are then scaled to sum to 1, as Optuna's importances do. Effects of
// parameters acting together are not separated; with few trials it is a hint,
// not a measurement.
#include <map>
#include <string>
#include <vector>

#include "tune/search_space.h"
#include "tune/trial.h"

namespace whet::tune {

// By parameter of `space`; empty with fewer than 3 complete trials or no spread.
std::map<std::string, double> parameter_importance(const SearchSpace& space, const std::vector<Trial>& trials);

}  // namespace whet::tune
