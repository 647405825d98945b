// whet tune: a hyperparameter study over a training config (docs/tune.md).
// The recipe is tune/study_runner.h; this front reads the flags, shows one
// line per trial and a progress line over the trials, and turns Ctrl-C into
// a stop that leaves the running trial to be re-run.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cli/progress.h"
#include "core/error.h"
#include "tune/cross_validation.h"
#include "tune/param_values.h"
#include "tune/study_runner.h"

namespace whet::cli {
namespace {

// An option of one sampler or pruner (`chooser` is --sampler or --pruner, `choice` its value).
struct AlgorithmOption {
  std::string flag, chooser, choice;
};

struct TuneOptions {
  tune::StudySettings study;
  std::string time, direction, sampler = "tpe", pruner = "median", min_resource = "auto";
  int64_t trials = 0;  // 0: not given
  std::vector<AlgorithmOption> algorithm_options;
};

// "2h", "90m", "45s", "1h30m", or seconds.
double seconds_of(const std::string& text) {
  const auto refuse = [&] { fail("--time", "'{}' is not a duration such as 2h, 90m, 45s or 1h30m", text); };
  double total = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t used = 0;
    double number = -1;
    try {
      number = std::stod(text.substr(at), &used);
    } catch (const std::exception&) {
      refuse();
    }
    at += used;
    const char unit = at < text.size() ? text[at++] : 's';
    const double scale = unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : 0;
    if (!std::isfinite(number) || number < 0 || scale == 0) refuse();
    total += number * scale;
  }
  if (total <= 0) refuse();
  return total;
}

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, const std::string& name) {
  return std::size_t(std::find(names.begin(), names.end(), name) - names.begin());
}

// A sampler's or pruner's option given with another one is a mistake, not ignored.
void check_algorithm_options(const CLI::App& command, const TuneOptions& o) {
  for (const AlgorithmOption& a : o.algorithm_options) {
    const std::string& chosen = a.chooser == "--sampler" ? o.sampler : o.pruner;
    if (command.count(a.flag) > 0 && chosen != a.choice)
      fail(a.flag, "is an option of {} {}, and the study uses {} {}", a.chooser, a.choice, a.chooser, chosen);
  }
}

// --min-resource: "auto" (0) or a step.
int64_t min_resource_of(const std::string& text) {
  if (text == "auto") return 0;
  std::size_t used = 0;
  int64_t step = 0;
  try {
    step = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || step < 1) fail("--min-resource", "'{}' is neither auto nor a step of 1 or more", text);
  return step;
}

// "trial 3: learning_rate=0.0003, lora_r=16 -> val_loss 1.2345 (41.2 s)".
std::string trial_line(const tune::TrialOutcome& outcome, const std::string& metric) {
  const tune::Trial& t = outcome.trial;
  const std::string params = tune::params_text(t);
  std::string result;
  switch (t.state) {
    case tune::TrialState::Complete: result = metric + " " + tune::value_with_folds_text(t); break;
    case tune::TrialState::Pruned: result = "pruned: " + t.note; break;
    case tune::TrialState::Fail: result = "failed: " + t.note; break;
    default: result = "stopped; the same command re-runs it"; break;
  }
  return fmt::format("trial {}: {} -> {} ({:.1f} s)", t.number, params.empty() ? "(no values)" : params, result,
                     outcome.seconds);
}

int run_tune(TuneOptions o) {
  if (o.trials > 0) o.study.trials = o.trials;
  if (!o.time.empty()) o.study.time_seconds = seconds_of(o.time);
  if (!o.direction.empty())
    o.study.direction = o.direction == "maximize" ? tune::Direction::Maximize : tune::Direction::Minimize;
  o.study.sampler = tune::SamplerKind(index_of(tune::kSamplerNames, o.sampler));
  o.study.pruner = tune::PrunerKind(index_of(tune::kPrunerNames, o.pruner));
  o.study.halving.min_resource = min_resource_of(o.min_resource);
  if (o.study.halving.bootstrap_count > 0 && o.study.halving.min_resource == 0)
    fail("--bootstrap-count", "needs a --min-resource step: with auto, the rungs are not known when trials "
                              "reach them (Optuna refuses the two together too)");
  ProgressLine progress("trial");
  tune::StudyObserver observer;
  observer.on_message = [&](const std::string& line) { progress.message(line); };
  // The ETA from this run's trials (those of an earlier run took no time
  // here), `parallel` of them running at once.
  int64_t ran = 0;
  double seconds = 0;
  const double parallel = o.study.parallel;
  observer.on_progress = [&](int64_t done, int64_t total, const std::optional<tune::Trial>& best,
                             const tune::Objective& objective) {
    const std::string details =
        best ? fmt::format("best {} {:.6g} (trial {})", objective.metric, *best->value, best->number) : "";
    progress.update(done, total, details,
                    ran > 0 ? std::optional(seconds / double(ran) * double(total - done) / parallel)
                            : std::nullopt);
  };
  observer.on_trial = [&](const tune::TrialOutcome& outcome, const tune::Objective& objective) {
    ++ran;
    seconds += outcome.seconds;
    progress.message(trial_line(outcome, objective.metric));
  };
  const bool interrupted = [&] {
    const StopOnSignal ctrl_c;
    o.study.interrupt = &ctrl_c.requested();
    return tune::run_study(o.study, observer);
  }();
  progress.finish();
  std::printf("%s/report.md\n", o.study.study_dir.c_str());
  return interrupted ? 130 : 0;
}

// A sampler's or pruner's setting: its flag, where its value goes, whose it is, what it must be.
struct AlgorithmFlag {
  const char* flag;
  std::variant<int*, int64_t*, double*, bool*, std::string*> target;
  const char* chooser;  // --sampler or --pruner
  const char* choice;
  const char* help;
  CLI::Validator check = {};
};

// The samplers' and pruners' settings, in Optuna's names, with its defaults (docs/tune.md's flag table).
std::vector<AlgorithmFlag> algorithm_flags(TuneOptions& o) {
  tune::MedianPrunerOptions& median = o.study.median;
  tune::SuccessiveHalvingOptions& halving = o.study.halving;
  tune::TpeOptions& tpe = o.study.tpe;
  const CLI::Validator from_0 = CLI::NonNegativeNumber, above_0 = CLI::PositiveNumber;
  return {
      {"--prune-after", &median.n_startup_trials, "--pruner", "median",
       "complete trials before any trial is pruned (Optuna's n_startup_trials)", from_0},
      {"--n-warmup-steps", &median.n_warmup_steps, "--pruner", "median", "no trial is pruned before this step", from_0},
      {"--interval-steps", &median.interval_steps, "--pruner", "median",
       "judge a trial once in each interval of this many steps", above_0},
      {"--n-min-trials", &median.n_min_trials, "--pruner", "median",
       "complete trials that reported the step, needed for a median", above_0},
      {"--min-resource", &o.min_resource, "--pruner", "successive_halving",
       "the first rung's step, or auto: the longest complete trial's last step / 100"},
      {"--reduction-factor", &halving.reduction_factor, "--pruner", "successive_halving",
       "η: a rung keeps its best 1/η, and the next rung is η times further", CLI::Range(2, 1000)},
      {"--min-early-stopping-rate", &halving.min_early_stopping_rate, "--pruner", "successive_halving",
       "s: the first rung is at min_resource·η^s", from_0},
      {"--bootstrap-count", &halving.bootstrap_count, "--pruner", "successive_halving",
       "values a rung needs besides the trial's before it promotes anyone", from_0},
      {"--n-startup-trials", &tpe.n_startup_trials, "--sampler", "tpe",
       "random trials before TPE models the finished ones", from_0},
      {"--n-ei-candidates", &tpe.n_ei_candidates, "--sampler", "tpe",
       "candidates drawn per sample; the best by l(x)/g(x) is taken", above_0},
      {"--multivariate", &tpe.multivariate, "--sampler", "tpe",
       "true: parameters under one condition sampled jointly; false: each alone"},
      {"--prior-weight", &tpe.prior_weight, "--sampler", "tpe", "the weight of the prior kernel in each Parzen estimator",
       above_0},
  };
}

void add_algorithm_options(CLI::App& command, TuneOptions& o) {
  for (const AlgorithmFlag& a : algorithm_flags(o)) {
    o.algorithm_options.push_back({a.flag, a.chooser, a.choice});
    std::visit(
        [&](auto* target) {
          command.add_option(a.flag, *target, std::string(a.choice) + ": " + a.help)->capture_default_str()->check(a.check);
        },
        a.target);
  }
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("tune", "Search a training config's hyperparameters (a resumable Optuna-style study)");
  auto o = std::make_shared<TuneOptions>();
  o->study.study_dir = "study";
  command->add_option("config", o->study.config_path, "The training config (YAML) each trial starts from")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--space", o->study.space_path, "The search space (YAML): config keys and their distributions")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--study", o->study.study_dir, "Study folder: study.db, best.yaml, report.md, trials/N")
      ->capture_default_str();
  command
      ->add_option("--trials", o->trials,
                   "Trials the study should hold (finished ones count); default 10, or the grid's size")
      ->check(CLI::PositiveNumber);
  command->add_option("--time", o->time,
                      "Stop after this long (2h, 90m, 1h30m); the running trial is re-run on resume");
  command->add_option("--metric", o->study.metric,
                      "What to optimise: val_loss or a metric of eval_task (macro_f1, ...); default: the config's "
                      "metric_for_best_model");
  command->add_option("--direction", o->direction, "minimize or maximize; default: the metric's (loss down, scores up)")
      ->check(CLI::IsMember({"minimize", "maximize"}));
  command->add_option("--sampler", o->sampler, "tpe, random or grid")
      ->check(CLI::IsMember({"tpe", "random", "grid"}))
      ->capture_default_str();
  command->add_option("--pruner", o->pruner, "median, successive_halving or none")
      ->check(CLI::IsMember({"median", "successive_halving", "none"}))
      ->capture_default_str();
  command
      ->add_option("--parallel", o->study.parallel,
                   "Trials at once, on threads that split the cores between them (1: one trial with all cores)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--folds", o->study.folds,
                   "Cross-validate each trial: K runs, fold k of train_data validating (val_data unused); the value "
                   "is the folds' mean; 0: off")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--seed", o->study.seed, "The samplers' seed, and the folds'")->capture_default_str();
  add_algorithm_options(*command, *o);
  command->callback([o, command] {
    check_algorithm_options(*command, *o);
    command_exit_code() = run_tune(*o);
  });
}

}  // namespace whet::cli
