// `whet tune` as a user runs it, on the tiny test model with runs of a few
// steps: a study fills study.db, best.yaml, report.md and report.html, and the same command
// with more trials continues it; a trial left running (written through the
// store, killed with SIGKILL, stopped by --time or Ctrl-C) is re-run; each
// pruner stops a barely-learning trial; a bad value or a failed forgetting gate
// fails a trial and the study goes on; an eval_task metric is maximised;
// --folds cross-validates each trial (and prunes between folds); --parallel
// runs trials at once on distinct grid points and survives SIGKILL; the
// pruners' options come from flags; mistakes in the inputs are refused naming
// the file or flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/run_whet.h"
#include "tune/optuna_check.h"
#include "test_support.h"
#include "train/train_config.h"
#include "tune/best_trial.h"
#include "tune/param_values.h"
#include "tune/report_page.h"
#include "tune/study_runner.h"
#include "tune/study_store.h"

namespace whet {
namespace {

using test::run_whet;
using tune::TrialState;

// A folder with train and validation data and a config of very short runs
// (`max_steps`, evaluated every `eval_steps`) without replay; `method` holds
// the method's keys and the gate's (LoRA, no gate unless told).
constexpr const char* kLoraWithoutGate = "method: lora\nforgetting_gate: false\n";
std::string write_study_inputs(const std::string& dir, int eval_steps = 2, int max_steps = 4,
                               const std::string& method = kLoraWithoutGate) {
  for (const char* name : {"train", "val"}) {
    std::ofstream out(dir + "/" + name + ".jsonl");
    for (int i = 0; i < 8; ++i)
      out << R"({"messages": [{"role": "user", "content": "the sea )" << i
          << R"("}, {"role": "assistant", "content": "the tin in the sea"}]})" << "\n";
  }
  const std::string config = dir + "/config.yaml";
  std::ofstream(config) << "base_model: " << test::testdata_path("tiny/gqa_tied/hf") << "\noutput_dir: " << dir
                        << "/unused\n" << method << "train_data: " << dir << "/train.jsonl\nval_data: " << dir
                        << "/val.jsonl\nsequence_len: 64\nsample_packing: false\nmicro_batch_size: 2\n"
                        << "max_steps: " << max_steps << "\neval_steps: " << eval_steps
                        << "\nearly_stopping_patience: 0\nreplay_data: none\ndistill_weight: 0\n";
  return config;
}

std::string write_space(const std::string& dir, const std::string& text) {
  const std::string path = dir + "/space.yaml";
  std::ofstream(path) << text;
  return path;
}

constexpr const char* kSpace =
    "learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}\n"
    "lora_r: {type: int, low: 2, high: 8, step: 2}\n";

std::vector<tune::Trial> study_trials(const std::string& study) {
  return tune::StudyStore(study, tune::kStudyName, tune::Direction::Minimize).trials();
}

std::string read_text(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

TEST(CliTune, StudyWritesTrialsBestConfigAndReportThenContinues) {
  const std::string dir = test::scratch_dir("cli_tune_study");
  const std::string command = "tune " + write_study_inputs(dir) + " --space " + write_space(dir, kSpace) +
                              " --study " + dir + "/study --sampler random --pruner none --seed 3";
  const test::RunResult first = run_whet(command + " --trials 3");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 3u);
  for (const tune::Trial& t : trials) {
    EXPECT_EQ(t.state, TrialState::Complete) << t.number << ": " << t.note;
    EXPECT_EQ(t.params.size(), 2u);
    EXPECT_EQ(t.intermediate.size(), 3u);  // steps 0 (the base), 2 and 4
    ASSERT_TRUE(t.value);
    EXPECT_EQ(*t.value, t.intermediate.at(4));  // the last evaluation's
    EXPECT_NE(first.err.find(fmt::format("trial {}: learning_rate=", t.number)), std::string::npos) << first.err;
  }
  // Quiet: one line per trial, none of the runs' own lines.
  EXPECT_EQ(first.err.find("validation loss"), std::string::npos) << first.err;

  const tune::Trial best = *tune::best_trial(trials, tune::Direction::Minimize);
  const TrainConfig config = load_train_config(dir + "/study/best.yaml", {});
  EXPECT_EQ(config.lora_r, int(best.params.at("lora_r")));
  EXPECT_NEAR(config.learning_rate, best.params.at("learning_rate"), 1e-12 * best.params.at("learning_rate"));
  EXPECT_EQ(config.output_dir, dir + "/study/best");
  const std::string report = read_text(dir + "/study/report.md");
  EXPECT_NE(report.find(fmt::format("Trial {}: val_loss", best.number)), std::string::npos) << report;
  EXPECT_NE(report.find("| 2 | complete |"), std::string::npos) << report;
  EXPECT_NE(report.find("## Parameter importance"), std::string::npos) << report;
  EXPECT_NE(report.find("[report.html](report.html)"), std::string::npos) << report;
  const nlohmann::json page = test::read_report_page(dir + "/study/report.html");
  ASSERT_FALSE(page.is_null());
  ASSERT_GE(page["svgs"].size(), 3u);  // the history and a slice per parameter (then importance, once estimated)
  for (int plot : {0, 1, 2}) EXPECT_EQ(page["svgs"][plot]["dots"].size(), 3u) << plot;  // every trial is complete
  EXPECT_TRUE(std::filesystem::exists(dir + "/study/trials/1/metrics.jsonl"));

  const test::RunResult second = run_whet(command + " --trials 4");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::vector<tune::Trial> more = study_trials(dir + "/study");
  ASSERT_EQ(more.size(), 4u);
  for (std::size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(more[i], trials[i]);
  EXPECT_EQ(more[3].state, TrialState::Complete) << more[3].note;
  EXPECT_NE(second.err.find("trial 3: "), std::string::npos) << second.err;
  EXPECT_EQ(second.err.find("trial 0: "), std::string::npos) << second.err;
}

// A process killed mid-trial leaves it RUNNING (written here through the store,
// as the killed process did): the next run fails it and re-runs its values first.
TEST(CliTune, TrialLeftRunningIsReRun) {
  const std::string dir = test::scratch_dir("cli_tune_rerun");
  const std::string config = write_study_inputs(dir);
  const std::string space_path = write_space(dir, kSpace);
  const std::map<std::string, double> params = {{"learning_rate", 0.01}, {"lora_r", 4}};
  {
    tune::StudyStore store(dir + "/study", tune::kStudyName, tune::Direction::Minimize);
    store.start_trial(params, tune::distributions_of(tune::load_search_space(space_path), params));
  }
  const test::RunResult r =
      run_whet("tune " + config + " --space " + space_path + " --study " + dir + "/study --trials 1 --pruner none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("trial 0 was interrupted; trial 1 re-runs its values"), std::string::npos) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Fail);
  EXPECT_EQ(trials[1].state, TrialState::Complete) << trials[1].note;
  EXPECT_EQ(trials[1].params, params);
}

// Killed (SIGKILL) mid-trial, for real: the trial stays RUNNING in study.db;
// the same command fails it and re-runs its values, then goes on.
TEST(CliTune, KilledStudyReRunsTheTrialItWasRunning) {
  const std::string dir = test::scratch_dir("cli_tune_killed");
  const std::string space_path = write_space(dir, kSpace);
  const std::string command =
      " tune " + dir + "/config.yaml --space " + space_path + " --study " + dir + "/study --trials 2 --pruner none";
  write_study_inputs(dir, 2, 100000000);  // a trial that would run for ever
  const test::RunResult killed = test::run_whet_command("timeout -s KILL 3 " + test::whet_path() + command);
  EXPECT_NE(killed.exit_code, 0);
  const std::vector<tune::Trial> left = study_trials(dir + "/study");
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(left[0].state, TrialState::Running);

  write_study_inputs(dir);  // short runs from now on
  const test::RunResult resumed = run_whet(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 3u);  // the killed one, its re-run and a new one
  EXPECT_EQ(trials[0].state, TrialState::Fail);
  EXPECT_EQ(trials[1].params, left[0].params);
  EXPECT_EQ(trials[1].state, TrialState::Complete) << trials[1].note;
  EXPECT_EQ(trials[2].state, TrialState::Complete) << trials[2].note;
}

// --parallel 2: two trials at once. Killed (SIGKILL) with both running, the
// same command fails both and re-runs their grid points first, then takes the
// points no trial has taken: every point ends complete exactly once, however
// the two threads interleave. Optuna reads the study the threads wrote.
TEST(CliTune, ParallelTrialsTakeDistinctPointsAndSurviveAKill) {
  WHET_REQUIRE_OPTUNA();
  const std::string dir = test::scratch_dir("cli_tune_parallel");
  const std::string command = " tune " + dir + "/config.yaml --space " +
                              write_space(dir, "lora_r: {type: int, low: 2, high: 8, step: 2}\n") + " --study " +
                              dir + "/study --sampler grid --pruner none --parallel 2";
  write_study_inputs(dir, 2, 100000000);  // trials that would run for ever
  const test::RunResult killed = test::run_whet_command("timeout -s KILL 5 " + test::whet_path() + command);
  EXPECT_NE(killed.exit_code, 0);
  const std::vector<tune::Trial> left = study_trials(dir + "/study");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].state, TrialState::Running);
  EXPECT_EQ(left[1].state, TrialState::Running);
  EXPECT_NE(left[0].params, left[1].params);

  write_study_inputs(dir);  // short runs from now on
  const test::RunResult resumed = run_whet(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("2 trials at a time"), std::string::npos) << resumed.err;
  tune::StudyStore store(dir + "/study", tune::kStudyName, tune::Direction::Minimize);
  const std::vector<tune::Trial> trials = store.trials();
  ASSERT_EQ(trials.size(), 6u);  // the two killed, their re-runs, and the grid's two other points
  std::multiset<double> complete;
  for (const tune::Trial& t : trials) {
    const TrialState expected = t.number < 2 ? TrialState::Fail : TrialState::Complete;
    EXPECT_EQ(t.state, expected) << t.number << ": " << t.note;
    if (t.state == TrialState::Complete) complete.insert(t.params.at("lora_r"));
  }
  EXPECT_EQ(trials[2].params, left[0].params);
  EXPECT_EQ(trials[3].params, left[1].params);
  EXPECT_EQ(complete, (std::multiset<double>{2, 4, 6, 8}));

  nlohmann::json expected = test::study_json(store, tune::kStudyName);
  test::mark_reruns(expected, {{0, 2}, {1, 3}});
  test::expect_optuna_reads(dir + "/study", expected);
}

// --time and Ctrl-C stop the running trial at a step and leave it to be re-run:
// --time ends the command normally, Ctrl-C with 130 as `whet train` does.
TEST(CliTune, TimeAndInterruptLeaveTheTrialToReRun) {
  const std::string dir = test::scratch_dir("cli_tune_time");
  const std::string command = " tune " + write_study_inputs(dir, 2, 100000000) + " --space " +
                              write_space(dir, kSpace) + " --study " + dir + "/study --trials 1 --pruner none";
  const test::RunResult timed = run_whet(command + " --time 1s");
  ASSERT_EQ(timed.exit_code, 0) << timed.err;
  EXPECT_NE(timed.err.find("trial 0: learning_rate="), std::string::npos) << timed.err;
  EXPECT_NE(timed.err.find("stopped; the same command re-runs it"), std::string::npos) << timed.err;
  EXPECT_NE(timed.err.find("stopped after 0 of 1 trials"), std::string::npos) << timed.err;
  EXPECT_EQ(study_trials(dir + "/study").at(0).state, TrialState::Running);

  const test::RunResult interrupted =
      test::run_whet_command("timeout --preserve-status -s INT 3 " + test::whet_path() + command);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Fail);
  EXPECT_EQ(trials[1].state, TrialState::Running);  // the re-run, stopped in its turn
  EXPECT_EQ(trials[1].params, trials[0].params);
}

// The median pruner, after one complete trial: a trial whose learning rate
// barely moves the loss is worse than it at the first step after the base
// evaluation (step 0, where every trial is the base model and none is worse).
// A grid study of a learning rate that learns, then one that barely does,
// evaluated at every step; `pruner` names the pruner and its options.
constexpr const char* kMedianAfterOne = " --pruner median --prune-after 1";
test::RunResult run_pruned_study(const std::string& dir, const std::string& pruner) {
  const std::string space_path = write_space(dir, "learning_rate: {type: categorical, choices: [0.05, 1.0e-6]}\n");
  return run_whet("tune " + write_study_inputs(dir, 1) + " --space " + space_path + " --study " + dir +
                  "/study --sampler grid" + pruner);
}

TEST(CliTune, MedianPrunerStopsAWorseTrial) {
  const std::string dir = test::scratch_dir("cli_tune_prune");
  const test::RunResult r = run_pruned_study(dir, kMedianAfterOne);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);  // the grid's size
  EXPECT_EQ(trials[0].state, TrialState::Complete) << trials[0].note;
  ASSERT_EQ(trials[1].state, TrialState::Pruned) << trials[1].note;
  EXPECT_NE(trials[1].note.find("step 1: val_loss"), std::string::npos) << trials[1].note;
  EXPECT_EQ(trials[1].intermediate.rbegin()->first, 1);  // stopped there
  EXPECT_NE(r.err.find("trial 1: learning_rate=1e-06 -> pruned: step 1"), std::string::npos) << r.err;
}

// A metric of eval_task as the objective: maximised, as higher accuracy is
// better, and each run keeps its best outputs by it.
TEST(CliTune, AnEvalTaskMetricIsMaximised) {
  const std::string dir = test::scratch_dir("cli_tune_task_metric");
  const std::string config = write_study_inputs(dir);
  {
    std::ofstream task(dir + "/task.jsonl");
    for (int i = 0; i < 6; ++i)
      task << R"({"prompt": "the )" << (i % 2 ? "tin " : "sea ") << i << R"( is", "label": ")"
           << (i % 2 ? "tin" : "sea") << "\"}\n";
    std::ofstream(config, std::ios::app) << "eval_task: " << dir << "/task.jsonl\n";
  }
  const test::RunResult r = run_whet("tune " + config + " --space " + write_space(dir, kSpace) + " --study " + dir +
                                     "/study --trials 2 --pruner none --metric accuracy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials =
      tune::StudyStore(dir + "/study", tune::kStudyName, tune::Direction::Maximize).trials();
  ASSERT_EQ(trials.size(), 2u);
  for (const tune::Trial& t : trials) {
    ASSERT_EQ(t.state, TrialState::Complete) << t.note;
    EXPECT_EQ(*t.value, t.intermediate.rbegin()->second);
    EXPECT_NE(r.err.find(fmt::format("trial {}: learning_rate=", t.number)), std::string::npos) << r.err;
  }
  EXPECT_NE(r.err.find("-> accuracy "), std::string::npos) << r.err;
  EXPECT_EQ(load_train_config(dir + "/study/best.yaml", {}).metric_for_best_model, "accuracy");
}

// Successive halving (min_resource auto: rungs at steps 1, 4, ... once a trial
// is complete; that first trial holds no rung values): trial 1 is alone at rung
// 0 and goes on; trial 2, barely learning, is not the best of the two there.
TEST(CliTune, SuccessiveHalvingStopsAWorseTrialAtItsRung) {
  const std::string dir = test::scratch_dir("cli_tune_halving");
  const std::string space_path =
      write_space(dir, "learning_rate: {type: categorical, choices: [0.05, 0.04, 1.0e-6]}\n");
  const test::RunResult r = run_whet("tune " + write_study_inputs(dir, 1) + " --space " + space_path + " --study " +
                                     dir + "/study --sampler grid --pruner successive_halving");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::Complete) << trials[0].note;
  EXPECT_EQ(trials[1].state, TrialState::Complete) << trials[1].note;
  ASSERT_EQ(trials[2].state, TrialState::Pruned) << trials[2].note;
  EXPECT_TRUE(trials[2].note.starts_with("step 1: val_loss ")) << trials[2].note;
  EXPECT_NE(trials[2].note.find("at rung 0 (step 1)"), std::string::npos) << trials[2].note;
}

std::vector<std::string> jsonl_records(const std::string& path) {
  std::vector<std::string> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) records.push_back(line);
  return records;
}

// --folds 2: each trial trains twice, fold k of train.jsonl validating (the
// config's val_data unused); the value is the folds' mean, reported after fold
// k at step k as the mean so far; the folds' values and spread are user
// attributes and in report.md; the config a trial records, and best.yaml,
// train on the config's own data.
TEST(CliTune, FoldsCrossValidateEachTrial) {
  const std::string dir = test::scratch_dir("cli_tune_folds");
  const std::string config = write_study_inputs(dir);
  const std::string command = "tune " + config + " --space " + write_space(dir, kSpace) + " --study " + dir +
                              "/study --trials 2 --sampler random --pruner none";
  const test::RunResult r = run_whet(command + " --folds 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("the config's val_data (or val_set_size) is not used"), std::string::npos) << r.err;
  std::vector<std::string> validated;
  for (const char* fold : {"0", "1"})
    for (const std::string& record : jsonl_records(dir + "/study/folds/" + fold + "/val.jsonl"))
      validated.push_back(record);
  std::vector<std::string> all = jsonl_records(dir + "/train.jsonl");
  std::sort(validated.begin(), validated.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(validated, all);

  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  for (const tune::Trial& t : trials) {
    ASSERT_EQ(t.state, TrialState::Complete) << t.note;
    ASSERT_EQ(t.fold_values.size(), 2u);
    const double mean = (t.fold_values[0] + t.fold_values[1]) / 2;
    EXPECT_DOUBLE_EQ(*t.value, mean);
    EXPECT_EQ(t.intermediate, (std::map<int64_t, double>{{0, t.fold_values[0]}, {1, mean}}));
    const auto attrs =
        tune::StudyStore(dir + "/study", tune::kStudyName, tune::Direction::Minimize).trial_attrs(t.number);
    EXPECT_NEAR(attrs.at("fold_std").get<double>(), std::abs(t.fold_values[0] - t.fold_values[1]) / std::sqrt(2.0),
                1e-12);
    EXPECT_EQ(attrs.at("run_dir"), dir + "/study/trials/" + std::to_string(t.number));
    for (const char* fold : {"fold-0", "fold-1"})
      EXPECT_TRUE(std::filesystem::exists(fmt::format("{}/study/trials/{}/{}/metrics.jsonl", dir, t.number, fold)));
    EXPECT_NE(r.err.find(fmt::format("trial {}: learning_rate=", t.number)), std::string::npos) << r.err;
  }
  EXPECT_NE(r.err.find(" ± "), std::string::npos) << r.err;
  const TrainConfig best = load_train_config(dir + "/study/best.yaml", {});
  EXPECT_EQ(best.train_data, std::vector<std::string>{dir + "/train.jsonl"});
  EXPECT_EQ(best.val_data, std::vector<std::string>{dir + "/val.jsonl"});
  const std::string report = read_text(dir + "/study/report.md");
  EXPECT_NE(report.find("the mean over 2 folds of train_data"), std::string::npos) << report;
  EXPECT_NE(report.find(fmt::format("{:.6g} ± ", *trials[0].value)), std::string::npos) << report;

  const test::RunResult other_folds = run_whet(command + " --folds 3");
  EXPECT_EQ(other_folds.exit_code, 1);
  EXPECT_NE(other_folds.err.find("[--folds] the study in"), std::string::npos) << other_folds.err;
}

// With folds, the pruner judges the mean of the folds so far, after each
// fold: a barely-learning trial is pruned at step 0, after its first fold.
TEST(CliTune, FoldsArePrunedAfterAFold) {
  const std::string dir = test::scratch_dir("cli_tune_folds_prune");
  const test::RunResult r = run_pruned_study(dir, std::string(kMedianAfterOne) + " --folds 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Complete) << trials[0].note;
  EXPECT_EQ(trials[0].fold_values.size(), 3u);
  ASSERT_EQ(trials[1].state, TrialState::Pruned) << trials[1].note;
  EXPECT_TRUE(trials[1].note.starts_with("step 0: val_loss")) << trials[1].note;
  EXPECT_EQ(trials[1].fold_values.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/study/trials/1/fold-1"));
}

TEST(CliTune, FoldsThatCannotWorkAreRefusedNamingTheFlag) {
  const std::string dir = test::scratch_dir("cli_tune_folds_refused");
  const std::string config = write_study_inputs(dir);
  const std::string command = "tune " + config + " --space " + write_space(dir, kSpace) + " --study " + dir + "/study";
  test::RunResult r = run_whet(command + " --folds 9");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--folds] 9 folds of 8 records"), std::string::npos) << r.err;
  r = run_whet(command + " --folds 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--folds] 1 folds: cross-validation needs at least 2"), std::string::npos) << r.err;
  std::ofstream(dir + "/task.jsonl") << R"({"prompt": "the sea is", "label": "sea"})" << "\n"
                                      << R"({"prompt": "the tin is", "label": "tin"})" << "\n";
  std::ofstream(config, std::ios::app) << "eval_task: " << dir << "/task.jsonl\n";
  r = run_whet(command + " --folds 2 --metric accuracy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--folds] cross-validation scores each fold by val_loss"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/study/study.db"));  // refused before the study is made
}

// The pruners' options from the command line: successive halving with its
// first rung at step 2 (not auto's step 1) and η = 2 keeps the better of the
// two trials there, and prunes the barely-learning one at step 2.
TEST(CliTune, SuccessiveHalvingOptionsFromFlags) {
  const std::string dir = test::scratch_dir("cli_tune_halving_flags");
  const test::RunResult r =
      run_pruned_study(dir, " --pruner successive_halving --min-resource 2 --reduction-factor 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Complete) << trials[0].note;
  ASSERT_EQ(trials[1].state, TrialState::Pruned) << trials[1].note;
  EXPECT_TRUE(trials[1].note.starts_with("step 2: val_loss ")) << trials[1].note;
  EXPECT_NE(trials[1].note.find("at rung 0 (step 2)"), std::string::npos) << trials[1].note;
}

TEST(CliTune, AnOptionOfAnotherSamplerOrPrunerIsRefused) {
  const std::string dir = test::scratch_dir("cli_tune_other_options");
  const std::string command = "tune " + write_study_inputs(dir) + " --space " + write_space(dir, kSpace) +
                              " --study " + dir + "/study";
  test::RunResult r = run_whet(command + " --reduction-factor 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--reduction-factor] is an option of --pruner successive_halving, and the study uses "
                       "--pruner median"),
            std::string::npos)
      << r.err;
  r = run_whet(command + " --sampler random --n-startup-trials 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--n-startup-trials] is an option of --sampler tpe"), std::string::npos) << r.err;
  r = run_whet(command + " --pruner successive_halving --min-resource soon");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--min-resource] 'soon' is neither auto nor a step"), std::string::npos) << r.err;
  r = run_whet(command + " --pruner successive_halving --bootstrap-count 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--bootstrap-count] needs a --min-resource step"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/study/study.db"));
}

// A trial whose values make a bad config fails with the reason; the study goes on.
TEST(CliTune, TrialWithABadValueFailsAndTheStudyGoesOn) {
  const std::string dir = test::scratch_dir("cli_tune_bad_value");
  const std::string space_path = write_space(dir, "lora_target_modules: {type: categorical, choices: [nope, q]}\n");
  const test::RunResult r = run_whet("tune " + write_study_inputs(dir) + " --space " + space_path + " --study " +
                                     dir + "/study --sampler grid --pruner none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::Fail);
  EXPECT_NE(trials[0].note.find("nope"), std::string::npos) << trials[0].note;
  EXPECT_EQ(trials[1].state, TrialState::Complete) << trials[1].note;
}

// The forgetting gate is a constraint: a trial whose model lost more general
// ability than allowed (full fine-tuning at a high rate, no rise allowed)
// fails with the gate's verdict, and is never the best.
TEST(CliTune, ATrialFailingTheForgettingGateIsInfeasible) {
  const std::string dir = test::scratch_dir("cli_tune_gate");
  const std::string config =
      write_study_inputs(dir, 4, 8, "method: full\nforgetting_gate: true\nmax_perplexity_rise: 0\n");
  const test::RunResult r = run_whet("tune " + config + " --space " +
                                     write_space(dir, "learning_rate: {type: categorical, choices: [0.03]}\n") +
                                     " --study " + dir + "/study --sampler grid --pruner none");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<tune::Trial> trials = study_trials(dir + "/study");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::Fail);
  EXPECT_TRUE(trials[0].note.starts_with("infeasible, forgetting gate: FAILED; ")) << trials[0].note;
  EXPECT_NE(trials[0].note.find("perplexity"), std::string::npos)
      << trials[0].note;
  EXPECT_FALSE(std::filesystem::exists(dir + "/study/best.yaml"));
}

TEST(CliTune, BadInputsAreRefusedNamingTheFileOrFlag) {
  const std::string dir = test::scratch_dir("cli_tune_bad_inputs");
  const std::string config = write_study_inputs(dir);
  const std::string study = " --study " + dir + "/study";

  test::RunResult r = run_whet("tune " + config + " --space " + dir + "/missing.yaml" + study);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--space"), std::string::npos) << r.err;

  r = run_whet("tune " + config + " --space " + write_space(dir, "learning_rte: {type: float, low: 0.1, high: 1}\n") +
               study);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("space.yaml:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("learning_rate"), std::string::npos) << r.err;

  const std::string space = write_space(dir, kSpace);
  r = run_whet("tune " + config + " --space " + space + study + " --time soon");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--time] 'soon' is not a duration"), std::string::npos) << r.err;

  r = run_whet("tune " + config + " --space " + space + study + " --metric macro_f1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--metric] macro_f1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("eval_task"), std::string::npos) << r.err;

  const std::string no_val = dir + "/no_val.yaml";
  {
    std::ifstream in(write_study_inputs(dir));
    std::ofstream out(no_val);
    for (std::string line; std::getline(in, line);)
      if (!line.starts_with("val_data")) out << line << "\n";
  }
  r = run_whet("tune " + no_val + " --space " + space + study);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[--metric] val_loss needs validation data"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/study/study.db"));  // refused before the study is made
}

// A study folder answers one question: another space or metric is refused.
TEST(CliTune, ResumingWithAnotherSpaceIsRefused) {
  const std::string dir = test::scratch_dir("cli_tune_other_space");
  const std::string config = write_study_inputs(dir);
  {
    tune::StudyStore store(dir + "/study", tune::kStudyName, tune::Direction::Minimize);
    store.set_study_attr("space", nlohmann::json::object());
  }
  const test::RunResult r =
      run_whet("tune " + config + " --space " + write_space(dir, kSpace) + " --study " + dir + "/study");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("searched another space (parameters that differ: learning_rate, lora_r)"), std::string::npos)
      << r.err;
  const test::RunResult other_direction = run_whet("tune " + config + " --space " + dir + "/space.yaml --study " +
                                                   dir + "/study --direction maximize");
  EXPECT_EQ(other_direction.exit_code, 1);
  EXPECT_NE(other_direction.err.find("is to MINIMIZE"), std::string::npos) << other_direction.err;
}

// The space of docs/tune.md's worked example is a valid one.
TEST(CliTune, TicketsExampleSpaceLoads) {
  const tune::SearchSpace space = tune::load_search_space(test::source_path("examples/tickets/space.yaml"));
  EXPECT_EQ(space.parameters.size(), 4u);
}

TEST(CliTune, HelpNamesEveryFlag) {
  const test::RunResult r = run_whet("tune --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--space", "--trials", "--time", "--study", "--metric", "--direction", "--sampler",
                           "--pruner", "--seed", "--folds", "--parallel", "--prune-after", "--n-warmup-steps",
                           "--interval-steps", "--n-min-trials", "--min-resource", "--reduction-factor",
                           "--min-early-stopping-rate", "--bootstrap-count", "--n-startup-trials", "--n-ei-candidates",
                           "--multivariate", "--prior-weight"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace whet
