#pragma once
// Continual learning: tasks trained one after another (task_sequence), each
// stage scored afterwards on every task's evaluation file, so the run shows
// what each new task cost the earlier ones. The report is the accuracy matrix
// of continual-learning papers (row: after stage i; column: task j), with
// backward transfer and forgetting computed from it.
#include <string>
#include <vector>

#include "train/trainer.h"

namespace whet {

struct ContinualResult {
  std::vector<std::string> tasks;              // task_sequence_eval, in stage order
  std::vector<std::string> metrics;            // each task's headline metric
  std::vector<bool> higher_is_better;          // per task
  std::vector<std::vector<double>> scores;     // [stage][task]: the headline metric after that stage
  double backward_transfer = 0;                // mean over tasks but the last of (final − just learned), oriented so > 0 is better
  std::vector<double> forgetting;              // per task but the last: best earlier score − final, oriented so > 0 is worse
  std::vector<TrainRunResult> stages;
  std::string output;                          // the last stage's adapter or model
};

// Runs config.task_sequence stage by stage (continual_strategy decides how a
// stage builds on the earlier ones), writes OUTPUT/stage-N/ per stage and
// OUTPUT/continual.json, and reports each stage's progress through `options`.
// Under mpirun (options.world) every rank trains every stage; rank 0 alone reads
// the evaluation files, scores and writes, so the others' result holds the stages only.
ContinualResult run_task_sequence(const TrainConfig& config, const TrainRunOptions& options);

// The accuracy matrix as a Markdown table with backward transfer and forgetting.
std::string continual_table(const ContinualResult& result);

}  // namespace whet
