#pragma once
// One optimiser step of preference alignment (DPO and its family, SimPO, ORPO)
// over a batch of pairs, on the supervised engine: each completion's summed
// log-probability comes from the cross-entropy forward, the pair's loss and its
// derivatives from train/preference_loss.h, and each derivative becomes the
// weight of that completion's cross-entropy backward. The reference is computed
// once before training (reference_logps): the base with the adapter off for
// LoRA, the starting weights for full fine-tuning, so no second model is held.
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "data/sequences.h"
#include "models/model_loader.h"
#include "train/learner.h"
#include "train/preference_loss.h"
#include "train/train_config.h"
#include "train/train_step.h"

namespace whet {

// A pair's two completions, each a sequence whose targets are its completion
// tokens (and end marker) only, so −Σ cross-entropy is log π(completion | prompt).
struct PreferenceSequences {
  TrainingSequence chosen, rejected;
};

// The pair with the reference's log-probs of its completions; NaN until computed
// (a step or an evaluation refuses a pair without them rather than read a 0).
struct ReferencedPair {
  const PreferenceSequences* pair = nullptr;
  double ref_chosen = std::numeric_limits<double>::quiet_NaN();
  double ref_rejected = std::numeric_limits<double>::quiet_NaN();
};

// Throws whet::Error naming item `index` of `what` ("validation pair") when its
// reference log-probs `a` and `b` were never computed (NaN).
void require_reference(double a, double b, size_t index, std::string_view what);

// What the run's config says the loss is.
struct PreferenceObjective {
  PreferenceLoss loss = PreferenceLoss::Sigmoid;
  PreferenceSettings settings;
  // A pair whose prompt and answers fit the activations runs as one sequence
  // that encodes its prompt once (train/shared_prompt.h); off: each answer as
  // a sequence of its own, the prompt encoded twice (to compare the two).
  bool share_prompt = true;
};
PreferenceObjective preference_objective(const TrainConfig& config);

// Summed log-probability of a sequence's targets in double (lora null: the base).
double completion_logp(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                       const TrainingSequence& sequence);

// Reference log-probs of every pair: the base without `lora`'s adapter (pass
// null for full fine-tuning before it starts), the prompt encoded once when the
// pair fits acts. on_pair hears progress.
std::vector<ReferencedPair> reference_logps(const LlamaModel& model, LlamaActivations& acts,
                                            std::span<const PreferenceSequences> pairs,
                                            const std::function<void(size_t done)>& on_pair = {});

struct PreferenceStepResult {
  StepResult step;            // loss: the mean pair loss
  PreferenceMetrics metrics;  // what TRL logs, over the batch
};

// The metrics of each rank's pairs pooled into those of all the ranks' pairs
// (weighted by their counts); `metrics` as they are without `world`.
PreferenceMetrics pooled_over_ranks(const PreferenceMetrics& metrics, dist::Communicator* world);

// The gradients of the batch's mean pair loss, added (+=) to what `pass` names:
// a forward of the pair for its answers' log-probs, the pair's loss, then each
// answer's cross-entropy backward weighted by −d(loss)/d(log π) / pairs. With
// the prompt shared, one forward and one backward per pair; otherwise per
// answer. The pass must have no dropout: the forward that measures log π and
// the backward that moves it must see the same network. Returns the batch's
// metrics. Data-parallel (`world` given), `batch` is the global batch: this rank
// runs its share (train/data_parallel.h), and the metrics are pooled over the ranks.
PreferenceMetrics preference_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                      std::span<const ReferencedPair> batch, const PreferenceObjective& objective,
                                      dist::Communicator* world = nullptr);

// preference_backward with dropout off (TRL's disable_dropout), the gradients
// summed over the ranks when data-parallel, then apply_update.
PreferenceStepResult preference_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                                     std::span<const ReferencedPair> batch, const StepSettings& settings,
                                     const PreferenceObjective& objective, int64_t step, const DataParallel& dp = {});

// The mean pair loss and metrics over `pairs`, without gradients (validation);
// with `world`, each rank scores its share. Throws whet::Error when a pair has
// no reference log-probs (TRL issue 1107's bug class: an evaluation set left
// out when the reference was precomputed).
PreferenceMetrics preference_eval(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                                  std::span<const ReferencedPair> pairs, const PreferenceObjective& objective,
                                  dist::Communicator* world = nullptr);

}  // namespace whet
