#pragma once
// Checkpoints of a run: the trainable tensors, the optimiser state and where the
// loop stood, so that a resumed run continues with the same loss curve. A
// checkpoint is written into a temporary folder and renamed into place, so a
// crash while writing leaves the previous one intact.
#include <cstdint>
#include <string>
#include <vector>

#include "train/optimizer.h"
#include "train/parameter.h"

namespace whet {

struct LoopState {
  int64_t step = 0;            // optimiser updates made
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t epoch_position = 0;  // sequences of this epoch already consumed
  double best_val_loss = 1e300;
  // metric_for_best_model at its best so far, signed so that lower is better; best_step is where.
  double best_score = 1e300;
  int64_t best_step = -1;
  int evals_without_improvement = 0;
};

// Writes DIR (checkpoints/step-N) atomically.
void save_checkpoint(const std::string& dir, const std::vector<Parameter>& params, const Optimizer& optimizer,
                     const LoopState& loop);
// Restores parameter values, optimiser state and the loop position; errors name the file and tensor.
LoopState load_checkpoint(const std::string& dir, const std::vector<Parameter>& params, Optimizer& optimizer);

// The newest "step-N" folder under DIR/checkpoints, or "" when there is none.
std::string latest_checkpoint(const std::string& run_dir);
// Removes all but the newest `keep` checkpoints (0 keeps all).
void prune_checkpoints(const std::string& run_dir, int keep);

// Parameter values as a safetensors file, one 1-D tensor per parameter, and back.
void save_parameters(const std::string& path, const std::vector<Parameter>& params);
void load_parameters(const std::string& path, const std::vector<Parameter>& params);

}  // namespace whet
