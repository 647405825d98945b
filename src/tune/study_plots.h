#pragma once
// The plots of a study's report.html, as inline SVG (tune/svg_plot.h), read
// as Optuna's plot_optimization_history and plot_slice are:
//  - the optimisation history: each trial's value as a dot by trial number,
//    coloured by its state, a trial without a finite value (failed, pruned
//    before its first value, running) as a dot on the bottom edge; and the best
//    value so far among the complete trials as a line;
//  - a slice per parameter: each complete trial that searched it, its value
//    against the parameter's (a log axis for a log-scale parameter, a band per
//    choice for a categorical), coloured from light to dark by trial number.
// Each dot's tooltip names its trial, state, value, parameters and note.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tune/objective.h"
#include "tune/search_space.h"
#include "tune/trial.h"

namespace whet::tune {

// The colours of the history's dots and line.
inline constexpr std::string_view kCompleteColour = "#1f77b4", kPrunedColour = "#ff7f0e",
                                  kFailedColour = "#d62728", kRunningColour = "#999999", kBestColour = "#2ca02c";

std::string optimisation_history_svg(const std::vector<Trial>& trials, const Objective& objective);
std::string slice_svg(const std::vector<Trial>& trials, const Parameter& parameter, const Objective& objective);

// A slice's colour for trial `number` of trials 0 to `last`: #c6dbef (the
// first) to #08306b (the last), as "#rrggbb".
std::string trial_colour(int64_t number, int64_t last);

}  // namespace whet::tune
