#pragma once
// `whet tune` as a recipe (docs/tune.md, "whet tune"): open or resume the
// study (dealing the folds, with --folds), then trial after trial, or several
// at once with --parallel, re-run what a stopped process left unfinished, pick
// values (a queued re-run, or the sampler's), run the trial, and keep
// best.yaml and report.md up to date. The command line is a thin front over
// run_study.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tune/pruner.h"
#include "tune/sampler.h"
#include "tune/trial_run.h"

namespace whet::tune {

// The Optuna study name in study.db: one study per folder.
inline constexpr const char* kStudyName = "whet-tune";

struct StudySettings {
  std::string config_path, space_path, study_dir;
  std::optional<int64_t> trials;           // the study's size; none: 10, or the grid's size
  std::optional<double> time_seconds;      // no trial runs past this; none: no limit
  std::optional<std::string> metric;       // none: the config's metric_for_best_model
  std::optional<Direction> direction;      // none: the metric's
  SamplerKind sampler = SamplerKind::Tpe;
  PrunerKind pruner = PrunerKind::Median;
  MedianPrunerOptions median;
  SuccessiveHalvingOptions halving;
  TpeOptions tpe;
  int folds = 0;  // k-fold cross-validation of each trial (tune/cross_validation.h); 0: one run a trial
  int parallel = 1;  // trials at once, on threads that share the cores (tune/parallel_trials.h)
  uint64_t seed = 0;
  const std::atomic<bool>* interrupt = nullptr;  // Ctrl-C: stop the running trial, leave it to be re-run
};

// What the front shows as the study goes.
struct StudyObserver {
  std::function<void(const std::string&)> on_message;
  // Before each trial and at the end: the trials that ran to an end so far, of
  // `total`, and the best one yet (its value is the objective's).
  std::function<void(int64_t done, int64_t total, const std::optional<Trial>& best, const Objective&)> on_progress;
  std::function<void(const TrialOutcome&, const Objective&)> on_trial;
};

// Runs trials until the study holds its size, its time is spent, or it is
// interrupted (a trial stopped by either is left to be re-run). Returns
// whether it was interrupted.
bool run_study(const StudySettings& settings, const StudyObserver& observer);

}  // namespace whet::tune
