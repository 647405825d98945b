#pragma once
// One optimiser step over a batch of sequences: the step `whet train` takes and
// `whet bench train` measures, so the benchmark times exactly what trains.
// Also the same loss without gradients, for validation.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "data/sequences.h"
#include "models/llama_train.h"
#include "models/model_loader.h"
#include "train/data_parallel.h"
#include "train/learner.h"
#include "train/lr_schedule.h"
#include "train/train_config.h"

namespace whet {

// Distillation from the base model (a defence against forgetting, LoRA only):
// distill_weight · mean T²·KL over the target tokens of the sequences it is on.
struct DistillSettings {
  double weight = 0.0;  // 0: off
  float temperature = 2.0f;
  bool on_task = false, on_replay = false;
};

// What stays the same from one step to the next.
struct StepSettings {
  LrSchedule schedule;
  double learning_rate = 0.0;  // the schedule's peak
  int64_t total_steps = 0;
  double max_grad_norm = 1.0;  // 0: no clipping (the norm is still measured)
  uint64_t seed = 0;           // LoRA dropout masks follow from it, the step and the sequence
  DistillSettings distill;
};

// The run's schedule (warmup_steps, else warmup_ratio of total_steps), clipping, seed and distillation.
StepSettings step_settings(const TrainConfig& config, int64_t total_steps);

// What a step reports.
struct StepResult {
  double loss = 0.0;       // mean over the targets of the batch's task sequences
  double lr = 0.0;         // the learning rate of the update
  double grad_norm = 0.0;  // global gradient norm before clipping
  int64_t tokens = 0;      // input tokens of the batch
  bool updated = false;    // false: the norm was not finite and the update was skipped
  double ewc_penalty = 0.0, l2sp_penalty = 0.0;  // λ/2·Σ F(θ−θ*)² before the update; 0 when off
  double replay_loss = std::numeric_limits<double>::quiet_NaN();   // mean over the replay targets; NaN: none
  double distill_loss = std::numeric_limits<double>::quiet_NaN();  // mean T²·KL per distilled target; NaN: off
  SyncWait sync;  // data-parallel: the time waited for the gradient sum
};

// Whether a classification head trains on a frozen base: the base's pooled
// features are then computed once per sequence, in the first epoch, and reused.
bool caches_classifier_features(const TrainableState& trainable);

// `step` is the number of steps taken before this one: it picks the learning rate
// and the dropout masks. Every sequence's loss is scaled by 1/(the batch's targets),
// so splitting a batch into micro-batches gives the gradient of one large batch.
// `replay` sequences (general data mixed in against forgetting) add their own
// mean loss (over their own targets) and report it apart. With settings.distill,
// the distillation term is added on the sequences it is on. With `dp`, batch and
// replay are the global batch and this rank runs its shard (dist/shard.h); the
// gradients are summed over the ranks before the update, so every rank takes
// the same one. Then apply_update.
StepResult train_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                      std::span<const TrainingSequence* const> batch, const StepSettings& settings, int64_t step,
                      std::span<const TrainingSequence* const> replay = {}, const DataParallel& dp = {});

// The end of every step, once the batch's gradients are in: add the learner's
// penalties and their gradients, clip (or measure) the gradient norm, step the
// optimiser unless the norm is not finite, and zero the gradients.
void apply_update(Learner& learner, const StepSettings& settings, int64_t step, StepResult& result);

// The model's view of a training sequence.
inline TokenSequence view(const TrainingSequence& s) { return {s.ids, s.targets, s.positions, s.segment_begin}; }

// Mean loss per target over `sequences`, without gradients or dropout (NaN without targets).
// Data-parallel (`world` given), each rank scores its shard and every rank gets the whole mean.
double mean_loss(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                 const std::vector<TrainingSequence>& sequences, dist::Communicator* world = nullptr);

}  // namespace whet
