// One trial of a study (tune/trial_run.h): configure, run, report, prune, finish.
#include "tune/trial_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "train/trainer.h"
#include "tune/cross_validation.h"
#include "tune/param_values.h"
#include "tune/sampler.h"

namespace whet::tune {
namespace {

using Clock = std::chrono::steady_clock;

// The trial's values as `--set` overrides, and the study's metric as the
// run's metric_for_best_model, so that early stopping and the outputs a run
// keeps follow what the study optimises.
std::vector<std::string> trial_overrides(const Trial& trial, const TrialSettings& settings) {
  std::vector<std::string> overrides;
  for (const auto& [name, internal] : trial.params)
    overrides.push_back(config_override(name, trial.distributions.at(name), internal));
  overrides.push_back("metric_for_best_model=" + nlohmann::json(settings.objective.metric).dump());
  return overrides;
}

// The trial's value at `step` goes to the study, and before the pruner:
// the reason to stop, or nothing.
std::optional<std::string> report_and_judge(StudyStore& store, const TrialSettings& settings, Trial& trial,
                                            int64_t step, double value) {
  trial.intermediate[step] = value;
  store.report(trial.number, step, value);
  if (!settings.pruner) return std::nullopt;
  const std::vector<Trial> others = other_trials(store.trials(), trial.number);
  return settings.pruner->prune(trial, step, others, settings.objective.direction);
}

// One training run of a trial: the whole trial, or one of its folds.
struct RunPlan {
  std::vector<std::string> overrides;  // the trial's values, and the fold's data
  std::string dir;                     // the run's output_dir, which holds its tune.log
  // Each evaluation reported to the study and judged by the pruner; a fold's
  // are not: the trial reports by fold (docs/tune.md, "Cross-validation").
  bool reports_evaluations = true;
  // The resolved config recorded as the trial's `config` (from fold 0 with the study's data keys).
  bool records_config = true;
};

// Follows a run's reports: its evaluations of the metric, each reported and
// judged when the plan says so; a prune, the deadline or an interrupt raises
// `stop`, which ends the run at its next step.
class TrialMonitor {
 public:
  TrialMonitor(StudyStore& store, const TrialSettings& settings, Trial& trial, const RunPlan& plan)
      : store_(store), settings_(settings), trial_(trial), plan_(plan) {}

  void on_report(const StepReport& report) {
    if (report.is_eval) record_evaluation(report);
    if (!prune_note && settings_.told_to_stop()) {
      stopped = true;
      stop.store(true);
    }
  }

  std::atomic<bool> stop{false};
  std::map<int64_t, double> evaluations;
  std::optional<std::string> prune_note;
  bool stopped = false;  // by the deadline or the interrupt

 private:
  void record_evaluation(const StepReport& report) {
    const std::optional<double> value = metric_value(report, settings_.objective.metric);
    if (!value || prune_note) return;
    evaluations[report.step] = *value;
    if (!plan_.reports_evaluations) return;
    prune_note = report_and_judge(store_, settings_, trial_, report.step, *value);
    if (prune_note) stop.store(true);
  }

  StudyStore& store_;
  const TrialSettings& settings_;
  Trial& trial_;
  const RunPlan& plan_;
};

// The gate's verdict on one line, for the trial's note.
std::string gate_note(const GateVerdict& verdict) {
  std::string note = "infeasible, ";
  std::istringstream lines(describe(verdict));
  bool first = true;
  for (std::string line; std::getline(lines, line); first = false)
    note += (first ? "" : "; ") + line.substr(std::min(line.find_first_not_of(' '), line.size()));
  return note;
}

// What a run that was not stopped leaves for the trial.
struct RunEnd {
  bool stopped = false;                   // by the deadline or the interrupt: the trial stays RUNNING
  std::optional<std::string> prune_note;  // pruned at one of its evaluations
  std::optional<std::string> infeasible;  // the forgetting gate's failed verdict
  std::optional<double> value;            // the objective (tune/objective.h), if it evaluated
};

// The run's messages go to its folder's tune.log instead of the terminal.
RunEnd train_run(StudyStore& store, const TrialSettings& settings, Trial& trial, const RunPlan& plan) {
  const TrainConfig config = load_train_config(settings.config_path, plan.overrides);
  std::filesystem::create_directories(plan.dir);
  std::ofstream log(plan.dir + "/tune.log");
  TrialMonitor monitor(store, settings, trial, plan);
  bool keeps_best = false;
  TrainRunOptions options;
  options.stop = &monitor.stop;
  options.on_message = [&](const std::string& line) { log << line << '\n' << std::flush; };
  options.on_report = [&](const StepReport& report) { monitor.on_report(report); };
  options.on_resolved = [&](const TrainConfig& resolved, const std::vector<AutoDecision>&) {
    keeps_best = resolved.early_stopping_patience > 0;
    if (!plan.records_config) return;
    const std::string dir = trial_dir(settings.study_dir, trial.number);
    store.set_trial_attr(trial.number, "config",
                         dump_train_config(settings.folds ? with_study_data(resolved, *settings.folds, dir) : resolved));
  };
  const TrainRunResult result = run_training(config, options);
  RunEnd end;
  end.stopped = monitor.stopped && result.interrupted;
  if (end.stopped) return end;
  if (monitor.prune_note) log << "pruned by whet tune: " << *monitor.prune_note << '\n';
  end.prune_note = monitor.prune_note;
  if (result.gate && !result.gate->passed) end.infeasible = gate_note(*result.gate);
  end.value = objective_value(monitor.evaluations, settings.objective.direction, keeps_best);
  return end;
}

// Ends the trial after a run that was not stopped, unless it goes on (a fold
// that was neither pruned nor infeasible, and had a value): pruned with the
// pruner's reason; failed when it lost more general ability than its gate
// allows (a constraint, so it is never the best) or reported no evaluation.
// Returns whether the trial ended.
bool finish_on_failure(StudyStore& store, const Trial& trial, const RunEnd& end, const TrialSettings& settings,
                       const std::string& which) {
  if (end.prune_note) {
    store.finish(trial.number, TrialState::Pruned, std::nullopt, *end.prune_note);
  } else if (end.infeasible) {
    store.finish(trial.number, TrialState::Fail, std::nullopt, which + *end.infeasible);
  } else if (!end.value) {
    store.finish(trial.number, TrialState::Fail, std::nullopt,
                 fmt::format("{}the run reported no {}: no evaluation ran", which, settings.objective.metric));
  } else {
    return false;
  }
  return true;
}

// The trial as one run in study_dir/trials/N, reporting each evaluation.
void train_whole(StudyStore& store, const TrialSettings& settings, Trial& trial) {
  RunPlan plan;
  plan.dir = trial_dir(settings.study_dir, trial.number);
  plan.overrides = trial_overrides(trial, settings);
  plan.overrides.push_back("output_dir=" + nlohmann::json(plan.dir).dump());
  const RunEnd end = train_run(store, settings, trial, plan);
  if (end.stopped || finish_on_failure(store, trial, end, settings, "")) return;
  store.finish(trial.number, TrialState::Complete, end.value, "");
}

// The folds' values so far as the trial's user attributes: `fold_values`, and
// `fold_std`, their sample standard deviation (null below two folds).
void record_folds(StudyStore& store, int64_t number, const std::vector<double>& values) {
  const FoldScore score = fold_score(values);
  store.set_trial_attr(number, StudyStore::kFoldValuesAttr, values);
  store.set_trial_attr(number, StudyStore::kFoldStdAttr, score.std ? nlohmann::json(*score.std) : nlohmann::json());
}

// The trial as one run per fold in study_dir/trials/N/fold-K. After fold k,
// the mean of the folds so far is reported at step k and judged by the pruner.
void cross_validate(StudyStore& store, const TrialSettings& settings, Trial& trial) {
  std::vector<double> values;
  for (int k = 0; k < int(settings.folds->files.size()); ++k) {
    RunPlan plan;
    plan.dir = fmt::format("{}/fold-{}", trial_dir(settings.study_dir, trial.number), k);
    plan.overrides = trial_overrides(trial, settings);
    for (std::string& data : fold_overrides(*settings.folds, k)) plan.overrides.push_back(std::move(data));
    plan.overrides.push_back("output_dir=" + nlohmann::json(plan.dir).dump());
    plan.reports_evaluations = false;
    plan.records_config = k == 0;
    const RunEnd end = train_run(store, settings, trial, plan);
    if (end.stopped || finish_on_failure(store, trial, end, settings, fmt::format("fold {}: ", k))) return;
    values.push_back(*end.value);
    record_folds(store, trial.number, values);
    const double mean = fold_score(values).mean;
    if (const std::optional<std::string> note = report_and_judge(store, settings, trial, k, mean)) {
      store.finish(trial.number, TrialState::Pruned, std::nullopt, *note);
      return;
    }
  }
  store.finish(trial.number, TrialState::Complete, fold_score(values).mean, "");
}

// The trial as the study now holds it.
Trial stored_trial(StudyStore& store, int64_t number) {
  for (Trial& trial : store.trials())
    if (trial.number == number) return trial;
  fail(store.path(), "trial {} is missing from the study", number);
}

}  // namespace

std::string trial_dir(const std::string& study_dir, int64_t number) {
  return fmt::format("{}/trials/{}", study_dir, number);
}

TrialOutcome run_trial(StudyStore& store, const TrialSettings& settings, Trial trial) {
  const auto start = Clock::now();
  TrialOutcome outcome;
  try {
    store.set_trial_attr(trial.number, "run_dir", trial_dir(settings.study_dir, trial.number));
    if (settings.folds)
      cross_validate(store, settings, trial);
    else
      train_whole(store, settings, trial);
  } catch (const Error& error) {
    store.finish(trial.number, TrialState::Fail, std::nullopt, error.what());
  }
  outcome.trial = stored_trial(store, trial.number);
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace whet::tune
