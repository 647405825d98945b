#pragma once
// One fine-tuning run as a recipe: load the model and data, set up what trains,
// then step, evaluate, checkpoint and write the outputs. The command line (and
// later the jobs API) are thin fronts over run_training.
#include <atomic>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "eval/gate.h"
#include "train/auto_settings.h"
#include "train/train_config.h"

namespace whet {

// One line of metrics.jsonl: a training step, or an evaluation when val_loss is set.
struct StepReport {
  int64_t step = 0, total_steps = 0, epoch = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, elapsed_s = 0;
  // Sequences (for task_type seq_cls, examples) per second: a head on a frozen
  // base reuses cached features after the first epoch, so tokens/s means nothing there.
  double examples_per_s = 0;
  double eta_s = 0;  // the run's time left, from the mean time per step so far (train/remaining_time.h)
  bool is_eval = false;
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN without validation data
  // exp(val_loss) for a language-model loss; NaN for rl, whose loss is per pair
  double val_perplexity = std::numeric_limits<double>::quiet_NaN();
  double replay_loss = std::numeric_limits<double>::quiet_NaN();   // a step's replay sequences; NaN: none
  double distill_loss = std::numeric_limits<double>::quiet_NaN();  // a step's distillation term; NaN: off
  std::vector<std::pair<std::string, double>> eval_metrics;   // eval_task's metrics, when set
  // Further values of a step, by name: ewc_penalty and l2sp_penalty when on; for
  // rl, the rewards and log-probs TRL logs (also an evaluation's eval_metrics).
  std::vector<std::pair<std::string, double>> values;
};

struct TrainRunOptions {
  bool resume = false;                         // continue from the newest checkpoint in output_dir
  const std::atomic<bool>* stop = nullptr;     // set by Ctrl-C: checkpoint and return
  std::function<void(const StepReport&)> on_report;  // progress display
  std::function<void(const std::string&)> on_message;  // one-off lines for the log
  std::function<void(int64_t step, const std::string& dir)> on_checkpoint;  // after a checkpoint is in place
  // Once the data is read: the config with every auto key decided, and the decisions.
  std::function<void(const TrainConfig&, const std::vector<AutoDecision>&)> on_resolved;
  double learning_rate_scale = 1.0;  // multiplies an auto learning_rate (the jobs API's learning_rate_multiplier)
  std::string run_source = "cli";    // who started the run, for run.json: "cli", or "job" for the server's jobs
  // The ranks of a data-parallel run (docs/distributed.md); null: this process alone.
  // Every rank calls run_training; rank 0 alone writes the run folder.
  dist::Communicator* world = nullptr;
};

struct TrainRunResult {
  int64_t steps = 0;
  bool interrupted = false, stopped_early = false;
  double final_train_loss = 0, best_val_loss = 0, first_val_loss = 0;  // val losses NaN without validation data
  std::string output;  // the adapter or model folder written
  std::optional<GateVerdict> gate;  // with forgetting_gate, unless interrupted
};

// Keys left auto in `config` are decided from the data (train/auto_settings.h);
// output_dir/config.yaml holds the config as resolved, output_dir/run.json the
// run's identity, lineage and status (train/run_record.h).
TrainRunResult run_training(const TrainConfig& config, const TrainRunOptions& options);

}  // namespace whet
