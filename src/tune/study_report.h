#pragma once
// A study's report in its two forms, built from the same blocks
// (io/document.h) so they cannot disagree: report.md, for a terminal or a
// diff, which links report.html; and report.html, one self-contained page (no
// script, no external link) that adds the plots (tune/study_plots.h) and shows
// the parameter importance as bars. Both hold the objective, the best trial,
// the parameter importance (tune/param_importance.h) and every trial in a table.
#include <string>
#include <vector>

#include "tune/objective.h"
#include "tune/search_space.h"
#include "tune/trial.h"

namespace whet::tune {

std::string study_report_markdown(const std::vector<Trial>& trials, const SearchSpace& space,
                                  const Objective& objective, const std::string& study_dir);
std::string study_report_html(const std::vector<Trial>& trials, const SearchSpace& space, const Objective& objective,
                              const std::string& study_dir);

}  // namespace whet::tune
