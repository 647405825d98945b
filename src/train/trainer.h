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

#include "train/train_config.h"

namespace whet {

// One line of metrics.jsonl: a training step, or an evaluation when val_loss is set.
struct StepReport {
  int64_t step = 0, total_steps = 0, epoch = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, elapsed_s = 0;
  bool is_eval = false;
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN without validation data
  double replay_loss = std::numeric_limits<double>::quiet_NaN();   // a step's replay sequences; NaN: none
  double distill_loss = std::numeric_limits<double>::quiet_NaN();  // a step's distillation term; NaN: off
  std::vector<std::pair<std::string, double>> eval_metrics;   // eval_task's metrics, when set
};

struct TrainRunOptions {
  bool resume = false;                         // continue from the newest checkpoint in output_dir
  const std::atomic<bool>* stop = nullptr;     // set by Ctrl-C: checkpoint and return
  std::function<void(const StepReport&)> on_report;  // progress display
  std::function<void(const std::string&)> on_message;  // one-off lines for the log
  std::function<void(int64_t step, const std::string& dir)> on_checkpoint;  // after a checkpoint is in place
};

struct TrainRunResult {
  int64_t steps = 0;
  bool interrupted = false, stopped_early = false;
  double final_train_loss = 0, best_val_loss = 0, first_val_loss = 0;  // val losses NaN without validation data
  std::string output;  // the adapter or model folder written
};

TrainRunResult run_training(const TrainConfig& config, const TrainRunOptions& options);

}  // namespace whet
