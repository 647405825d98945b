// One trial of a study (tune/trial_run.h): configure, run, report, prune, finish.
#include "tune/trial_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "train/trainer.h"
#include "tune/param_values.h"
#include "tune/sampler.h"

namespace whet::tune {
namespace {

using Clock = std::chrono::steady_clock;

// The trial's values as `--set` overrides, its run folder, and the study's
// metric as the run's metric_for_best_model, so that early stopping and the
// outputs a run keeps follow what the study optimises.
std::vector<std::string> trial_overrides(const Trial& trial, const TrialSettings& settings) {
  std::vector<std::string> overrides;
  for (const auto& [name, internal] : trial.params)
    overrides.push_back(config_override(name, trial.distributions.at(name), internal));
  overrides.push_back("output_dir=" + nlohmann::json(trial_dir(settings.study_dir, trial.number)).dump());
  overrides.push_back("metric_for_best_model=" + nlohmann::json(settings.objective.metric).dump());
  return overrides;
}

// Follows the run's reports: each evaluation's metric goes to the study and
// before the pruner; a prune, the deadline or an interrupt raises `stop`,
// which ends the run at its next step.
class TrialMonitor {
 public:
  TrialMonitor(StudyStore& store, const TrialSettings& settings, Trial& trial)
      : store_(store), settings_(settings), trial_(trial) {}

  void on_report(const StepReport& report) {
    if (report.is_eval) record_evaluation(report);
    if (!prune_note && told_to_stop()) {
      stopped = true;
      stop.store(true);
    }
  }

  std::atomic<bool> stop{false};
  std::optional<std::string> prune_note;
  bool stopped = false;  // by the deadline or the interrupt

 private:
  bool told_to_stop() const {
    return (settings_.interrupt && settings_.interrupt->load()) ||
           (settings_.deadline && Clock::now() >= *settings_.deadline);
  }

  void record_evaluation(const StepReport& report) {
    const std::optional<double> value = metric_value(report, settings_.objective.metric);
    if (!value || prune_note) return;
    trial_.intermediate[report.step] = *value;
    store_.report(trial_.number, report.step, *value);
    if (!settings_.pruner) return;
    const std::vector<Trial> others = other_trials(store_.trials(), trial_.number);
    prune_note = settings_.pruner->prune(trial_, report.step, others, settings_.objective.direction);
    if (prune_note) stop.store(true);
  }

  StudyStore& store_;
  const TrialSettings& settings_;
  Trial& trial_;
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

// Ends a run that went to its end or was pruned: pruned with the pruner's
// reason; failed when it lost more general ability than its gate allows (a
// constraint, so it is never the best); else complete with the objective.
void finish_run(StudyStore& store, const Trial& trial, const TrialMonitor& monitor, const TrainRunResult& result,
                const TrialSettings& settings, bool keeps_best) {
  if (monitor.prune_note) {
    store.finish(trial.number, TrialState::Pruned, std::nullopt, *monitor.prune_note);
  } else if (result.gate && !result.gate->passed) {
    store.finish(trial.number, TrialState::Fail, std::nullopt, gate_note(*result.gate));
  } else if (const std::optional<double> value =
                 objective_value(trial.intermediate, settings.objective.direction, keeps_best)) {
    store.finish(trial.number, TrialState::Complete, value, "");
  } else {
    store.finish(trial.number, TrialState::Fail, std::nullopt,
                 fmt::format("the run reported no {}: no evaluation ran", settings.objective.metric));
  }
}

// The trial's training run, its messages kept in the run folder's tune.log
// instead of on the terminal. A run stopped by the deadline or the interrupt
// leaves the trial RUNNING.
void train_trial(StudyStore& store, const TrialSettings& settings, Trial& trial) {
  const std::string dir = trial_dir(settings.study_dir, trial.number);
  store.set_trial_attr(trial.number, "run_dir", dir);
  const TrainConfig config = load_train_config(settings.config_path, trial_overrides(trial, settings));
  std::filesystem::create_directories(dir);
  std::ofstream log(dir + "/tune.log");
  TrialMonitor monitor(store, settings, trial);
  bool keeps_best = false;
  TrainRunOptions options;
  options.stop = &monitor.stop;
  options.on_message = [&](const std::string& line) { log << line << '\n' << std::flush; };
  options.on_report = [&](const StepReport& report) { monitor.on_report(report); };
  options.on_resolved = [&](const TrainConfig& resolved, const std::vector<AutoDecision>&) {
    store.set_trial_attr(trial.number, "config", dump_train_config(resolved));
    keeps_best = resolved.early_stopping_patience > 0;
  };
  const TrainRunResult result = run_training(config, options);
  if (monitor.stopped && result.interrupted) return;
  if (monitor.prune_note) log << "pruned by whet tune: " << *monitor.prune_note << '\n';
  finish_run(store, trial, monitor, result, settings, keeps_best);
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
    train_trial(store, settings, trial);
  } catch (const Error& error) {
    store.finish(trial.number, TrialState::Fail, std::nullopt, error.what());
  }
  outcome.trial = stored_trial(store, trial.number);
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace whet::tune
