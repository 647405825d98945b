#pragma once
// What a study leaves beside study.db for people (docs/tune.md, "whet tune"):
// best.yaml, the best trial's resolved training config, ready for `whet
// train`; report.md and report.html, the study's report (tune/study_report.h).
// All are rewritten, each atomically, after every trial, so a study stopped at
// any point has them whole.
#include <string>

#include "tune/objective.h"
#include "tune/search_space.h"
#include "tune/study_store.h"

namespace whet::tune {

// STUDY/best.yaml: the best complete trial's config, its output_dir STUDY/best
// (a run of its own, not the trial's folder). Nothing while no trial is complete.
void write_best_config(StudyStore& store, const std::string& study_dir, const Objective& objective);

void write_study_outputs(StudyStore& store, const std::string& study_dir, const SearchSpace& space,
                         const Objective& objective);

}  // namespace whet::tune
