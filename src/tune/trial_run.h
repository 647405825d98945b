#pragma once
// One trial of a study, start to end: its sampled values become overrides of
// the training config, the run reports the objective at each evaluation
// (which the pruner judges), and the trial is finished in the study as
// complete, pruned or failed, or left running when the study was told to stop.
// Cross-validated, the trial is one run per fold, and reports the mean of the
// folds so far after each (docs/tune.md, "Cross-validation").
#include <functional>
#include <optional>
#include <string>

#include "tune/cross_validation.h"
#include "tune/objective.h"
#include "tune/pruner.h"
#include "tune/study_store.h"
#include "tune/trial.h"

namespace whet::tune {

// What every trial of a study shares.
struct TrialSettings {
  std::string config_path;  // CONFIG.yaml
  std::string study_dir;    // a trial runs in study_dir/trials/N
  Objective objective;
  const Pruner* pruner = nullptr;  // none: no pruning
  // Stop the trial at its next step once this holds (left RUNNING, re-run when
  // the study resumes): --time has run out, Ctrl-C, a parallel worker failed.
  std::function<bool()> told_to_stop = [] { return false; };
  // --folds K: each trial is K runs, one a fold (tune/cross_validation.h); none: one run.
  std::optional<CrossValidation> folds;
};

struct TrialOutcome {
  Trial trial;         // as finished (its state, value, note); RUNNING when stopped by the deadline or interrupt
  double seconds = 0;  // its run's wall time
};

// The trial's run folder, study_dir/trials/N.
std::string trial_dir(const std::string& study_dir, int64_t number);

// Runs `trial` (RUNNING in `store`, its params set) to its end. A whet::Error
// from the config or the run (a bad combination of values) fails the trial
// with its message; the study goes on.
TrialOutcome run_trial(StudyStore& store, const TrialSettings& settings, Trial trial);

}  // namespace whet::tune
