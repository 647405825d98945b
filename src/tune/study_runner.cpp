// whet tune's recipe (tune/study_runner.h).
#include "tune/study_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "train/train_config.h"
#include "tune/best_trial.h"
#include "tune/fold_split.h"
#include "tune/parallel_trials.h"
#include "tune/param_values.h"
#include "tune/study_identity.h"
#include "tune/study_outputs.h"

namespace whet::tune {
namespace {

using Clock = std::chrono::steady_clock;

// A trial's values that stopped the process again and again are re-run this often, then left failed.
constexpr int kMaxReruns = 2;
constexpr int64_t kDefaultTrials = 10;

// Complete, pruned, or failed by itself: an interrupted trial did not run to an end (its re-run does).
bool ran_to_an_end(const Trial& trial) {
  return trial.state == TrialState::Complete || trial.state == TrialState::Pruned ||
         (trial.state == TrialState::Fail && !trial.note.starts_with(StudyStore::kInterruptedNote));
}

int64_t trials_done(StudyStore& store) {
  const std::vector<Trial> trials = store.trials();
  return std::count_if(trials.begin(), trials.end(), ran_to_an_end);
}

int64_t study_size(const StudySettings& settings, const Sampler& sampler, const SearchSpace& space) {
  if (settings.trials) return *settings.trials;
  return int64_t(sampler.size(space).value_or(kDefaultTrials));
}

// Trials a stopped process left RUNNING: failed, and queued to run again first.
void recover(StudyStore& store, const StudyObserver& observer) {
  for (const InterruptedTrial& t : store.recover_interrupted(kMaxReruns))
    observer.on_message(t.rerun ? fmt::format("trial {} was interrupted; trial {} re-runs its values", t.number,
                                              *t.rerun)
                                : fmt::format("trial {} was interrupted, and its values already were {} times; "
                                              "left failed",
                                              t.number, kMaxReruns));
}

// The next trial, RUNNING: a queued re-run, else the sampler's new values.
Trial next_trial(StudyStore& store, const Sampler& sampler, const SearchSpace& space, Direction direction) {
  if (std::optional<Trial> waiting = store.start_waiting_trial()) return *waiting;
  const std::vector<Trial> history = store.trials();
  Trial trial;
  trial.params = sampler.sample(space, history, direction, int64_t(history.size()));
  trial.distributions = distributions_of(space, trial.params);
  trial.number = store.start_trial(trial.params, trial.distributions);
  return trial;
}

// The folds' files go in study_dir/folds.
std::string folds_dir(const std::string& study_dir) { return study_dir + "/folds"; }

// What every trial shares; the config is read once first, so its mistakes
// stop the study before any trial. Cross-validated, it is read as fold 0 reads it.
TrialSettings trial_settings(const StudySettings& settings) {
  TrainConfig config = load_train_config(settings.config_path, {});
  TrialSettings out;
  out.config_path = settings.config_path;
  out.study_dir = settings.study_dir;
  if (settings.folds > 0) {
    out.folds = plan_cross_validation(config, settings.folds, folds_dir(settings.study_dir));
    config = fold_config(settings.config_path, *out.folds);
  }
  out.objective = resolve_objective(config, settings.metric, settings.direction);
  if (out.folds) {
    check_cross_validated_objective(out.objective);
    out.objective.folds = settings.folds;
  }
  std::optional<Clock::time_point> deadline;
  if (settings.time_seconds)
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(*settings.time_seconds));
  out.told_to_stop = [deadline, interrupt = settings.interrupt] {
    return (deadline && Clock::now() >= *deadline) || (interrupt && interrupt->load());
  };
  return out;
}

// The training records dealt into folds by the study's seed (before the study
// is opened: too many folds is refused first), or none without --folds.
std::optional<FoldSplit> fold_split(const StudySettings& settings, const TrialSettings& shared,
                                    const StudyObserver& observer) {
  if (!shared.folds) return std::nullopt;
  if (!shared.folds->val_data.empty() || shared.folds->val_set_size > 0)
    observer.on_message(fmt::format("--folds {}: each fold validates on its own records of train_data; the config's "
                                    "val_data (or val_set_size) is not used",
                                    settings.folds));
  return split_into_folds(shared.folds->train_data, settings.folds, settings.seed);
}

// The study's trials, taken and run by one worker or several at once
// (tune/parallel_trials.h): each takes the next trial while the study needs
// more, runs it, and records it. Taking one (a queued re-run, or the sampler's
// values started in study.db) and recording one (the observer, best.yaml,
// report.md) hold one lock, so the sampler sees every trial started before
// (the grid never hands out a point twice; TPE takes running trials as its
// constant liar), and the outputs are written whole.
class StudyLoop {
 public:
  StudyLoop(StudyStore& store, const Sampler& sampler, const SearchSpace& space, const TrialSettings& shared,
            const StudyObserver& observer, int64_t size)
      : store_(store), sampler_(sampler), space_(space), shared_(shared), observer_(observer), size_(size) {}

  // One worker: trials until the study has enough, or is told to stop.
  void work() {
    while (std::optional<Trial> trial = take()) record(run_trial(store_, shared_, std::move(*trial)));
  }

  // The progress line and outputs once every worker has returned; the trials that ran to an end.
  int64_t finish() {
    const int64_t done = trials_done(store_);
    show_progress(done);
    write_study_outputs(store_, shared_.study_dir, space_, shared_.objective);
    return done;
  }

 private:
  // The next trial, RUNNING, unless the trials done and running make the study's size, or it was told to stop.
  std::optional<Trial> take() {
    const std::lock_guard lock(mutex_);
    const int64_t done = trials_done(store_);
    if (done + running_ >= size_ || shared_.told_to_stop()) return std::nullopt;
    show_progress(done);
    ++running_;
    return next_trial(store_, sampler_, space_, shared_.objective.direction);
  }

  void record(const TrialOutcome& outcome) {
    const std::lock_guard lock(mutex_);
    --running_;
    observer_.on_trial(outcome, shared_.objective);
    write_study_outputs(store_, shared_.study_dir, space_, shared_.objective);
  }

  void show_progress(int64_t done) {
    observer_.on_progress(done, size_, best_trial(store_.trials(), shared_.objective.direction), shared_.objective);
  }

  StudyStore& store_;
  const Sampler& sampler_;
  const SearchSpace& space_;
  const TrialSettings& shared_;
  const StudyObserver& observer_;
  const int64_t size_;
  std::mutex mutex_;
  int64_t running_ = 0;  // trials this process's workers are running
};

}  // namespace

bool run_study(const StudySettings& settings, const StudyObserver& observer) {
  const SearchSpace space = load_search_space(settings.space_path);
  TrialSettings shared = trial_settings(settings);
  const std::optional<FoldSplit> split = fold_split(settings, shared, observer);
  StudyStore store(settings.study_dir, kStudyName, shared.objective.direction);
  check_study_identity(store, space, shared.objective);
  if (split) write_fold_files(*split, folds_dir(settings.study_dir));
  recover(store, observer);
  const std::unique_ptr<Sampler> sampler = make_sampler(settings.sampler, settings.seed, settings.tpe);
  const std::unique_ptr<Pruner> pruner =
      make_pruner(settings.pruner, shared.objective.metric, settings.median, settings.halving);
  shared.pruner = pruner.get();
  const int64_t size = study_size(settings, *sampler, space);
  std::atomic<bool> failed{false};  // a parallel worker threw: the others stop their trials, left to be re-run
  shared.told_to_stop = [stop = shared.told_to_stop, &failed] { return failed.load() || stop(); };
  StudyLoop loop(store, *sampler, space, shared, observer, size);
  const int threads = threads_per_worker(settings.parallel);
  if (settings.parallel > 1)
    observer.on_message(fmt::format("{} trials at a time, {} OpenMP thread{} each", settings.parallel, threads,
                                    threads > 1 ? "s" : ""));
  run_workers(settings.parallel, threads, [&] { loop.work(); }, failed);
  const int64_t done = loop.finish();
  if (done < size)
    observer.on_message(
        fmt::format("stopped after {} of {} trials; the same command continues the study", done, size));
  return settings.interrupt && settings.interrupt->load();
}

}  // namespace whet::tune
