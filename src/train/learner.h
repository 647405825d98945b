#pragma once
// What learns in a run: the trainable state for the method and the optimiser
// over its parameters. They are built together (at the start of a run, on
// resume, when gradual unfreezing releases a block, and by `whet bench train`),
// so the optimiser always walks the parameters of the state beside it.
#include "train/anchor_penalty.h"
#include "train/optimizer.h"
#include "train/train_config.h"
#include "train/trainable.h"

namespace whet {

struct Learner {
  TrainableState trainable;
  Optimizer optimizer;  // over trainable.parameters
  Penalties penalties;  // EWC and L2-SP, whose gradients train_step adds; off unless the run sets them
};

// The optimiser kind and hyperparameters of a run.
OptimizerConfig optimizer_config(const TrainConfig& config);

// make_trainable for config.method, and a fresh optimiser (no steps taken) over its parameters.
Learner make_learner(LoadedModel& loaded, const TrainConfig& config, int first_trainable_block,
                     ClassifierTraining* classifier = nullptr);

// When gradual unfreezing rebuilds the learner with more blocks: `to` takes the
// step count of `from` and its state for every parameter both train, so what
// already trained keeps its moments; the newly released parameters start from zero.
void carry_optimizer_state(const Optimizer& from, Optimizer& to);

}  // namespace whet
