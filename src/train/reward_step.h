#pragma once
// One optimiser step of a reward model (rl reward) over a batch of preference
// pairs: the model with a one-output head (HF's *ForSequenceClassification
// layout, "score.weight" (1, hidden)) scores each whole answer, prompt and
// answer with its end marker, at its last token; the pair's Bradley–Terry loss
// −log σ(r_c − r_r − m) + c·(r_c + r_r)² comes from train/preference_loss.h
// (reward_pair_loss), and each answer's score backward is weighted by
// d(loss)/d(r). No reference model: the loss compares the two scores only.
#include <cstdint>
#include <span>
#include <vector>

#include "data/tokenize_preference.h"
#include "models/model_loader.h"
#include "train/learner.h"
#include "train/preference_loss.h"
#include "train/preference_step.h"
#include "train/train_step.h"

namespace whet {

// What the loss adds beside Bradley–Terry.
struct RewardObjective {
  double center_coefficient = 0;  // c; 0: off
};

// The gradients of the batch's mean pair loss, added (+=) to the head's
// gradient buffers (head.dweight, head.dbias) and to what `pass` names. With an
// adapter alone training, each answer runs forward and backward once into
// scratch gradients scaled in once the pair's loss is known; when base weights
// train, each answer runs forward for its score and again with its backward.
// The pass must have no dropout (the score measured and the score moved must
// be the same network's). Metrics: TRL's rewards, margins and accuracy (logps 0).
// Data-parallel (`world` given), `batch` is the global batch: this rank runs its
// share (train/data_parallel.h), and the metrics are pooled over the ranks.
PreferenceMetrics reward_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                  const ClassifierPass& head, std::span<const RewardPair* const> batch,
                                  const RewardObjective& objective, dist::Communicator* world = nullptr);

// reward_backward with dropout off, the gradients summed over the ranks when
// data-parallel, then apply_update (the head is among the learner's parameters).
PreferenceStepResult reward_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                                 std::span<const RewardPair* const> batch, const StepSettings& settings,
                                 const RewardObjective& objective, int64_t step, const DataParallel& dp = {});

// The mean pair loss and metrics over `pairs`, without gradients (validation,
// held-out pairs); with `world`, each rank scores its share.
PreferenceMetrics reward_eval(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                              const SequenceClassifier& head, std::span<const RewardPair> pairs,
                              const RewardObjective& objective, dist::Communicator* world = nullptr);

}  // namespace whet
