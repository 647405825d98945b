#pragma once
// One optimiser step of KTO (Ethayarajh et al. 2024, as TRL's KTOTrainer) over
// a batch of unpaired examples, each an answer labelled desirable or not, on
// the engine preference_step uses: the answer's summed log-probability from the
// cross-entropy forward, its loss and derivative from train/preference_loss.h
// (kto_loss), the derivative as the weight of the answer's backward.
//
// KTO's reference point z₀ is the policy's KL from the reference, estimated on
// mismatched examples (a prompt with another example's answer): each step
// measures its batch's mismatched answers under the policy, without gradient,
// as TRL does. An example's mismatched answer is the next example's (in the
// order the data was shuffled), fixed for the run so that its reference
// log-prob is computed once with the others.
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "data/tokenize_preference.h"
#include "models/model_loader.h"
#include "train/learner.h"
#include "train/preference_loss.h"
#include "train/train_step.h"

namespace whet {

struct KtoSequences {
  TrainingSequence answer;      // the prompt with its own answer
  TrainingSequence mismatched;  // the prompt with the next example's answer
  bool desirable = true;
};

// Sequences of examples (after fit_prompt, so each is within sequence_len);
// a mismatched prompt loses its first tokens, as fit_prompt cuts, when the
// other answer is longer than its own.
std::vector<KtoSequences> kto_sequences(const std::vector<TokenizedUnpaired>& examples, int sequence_len,
                                        int32_t bos_id);

// An example with the reference's log-probs of its answer and its mismatched answer.
// NaN until computed, as ReferencedPair's.
struct ReferencedKto {
  const KtoSequences* example = nullptr;
  double ref = std::numeric_limits<double>::quiet_NaN();
  double ref_mismatched = std::numeric_limits<double>::quiet_NaN();
};
// Under the base: `model` with no adapter (before a checkpoint is loaded, for full fine-tuning).
std::vector<ReferencedKto> kto_reference_logps(const LlamaModel& model, LlamaActivations& acts,
                                               std::span<const KtoSequences> examples);

// Means over a batch of what TRL's KTOTrainer logs.
struct KtoMetrics {
  double loss = 0;
  double kl = 0;  // z₀
  int64_t desirable = 0, undesirable = 0;
  double reward_desirable = 0, reward_undesirable = 0;  // β(π − ref), means over each kind
  double logp_desirable = 0, logp_undesirable = 0;
  // As the trainer logs them: rewards_chosen, rewards_rejected, rewards_margin (when the batch has both kinds),
  // kl, logps_chosen, logps_rejected.
  std::vector<std::pair<std::string, double>> logged() const;
};

// z₀ for the batch: max(0, mean over its mismatched answers of π − ref).
// Data-parallel (`world` given), each rank measures its share of the batch, and every rank gets the batch's z₀.
double kto_batch_reference_point(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                                 std::span<const ReferencedKto> batch, dist::Communicator* world = nullptr);

// The gradients of the batch's mean KTO loss, added (+=) to what `pass` names
// (without dropout). Data-parallel (`world` given), `batch` is the global batch:
// z₀ is the whole batch's, this rank runs its share, and the metrics are pooled over the ranks.
KtoMetrics kto_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                        std::span<const ReferencedKto> batch, const PreferenceSettings& settings,
                        dist::Communicator* world = nullptr);

struct KtoStepResult {
  StepResult step;  // loss: the mean example loss
  KtoMetrics metrics;
};
// kto_backward with dropout off, the gradients summed over the ranks when data-parallel, then apply_update.
KtoStepResult kto_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                       std::span<const ReferencedKto> batch, const StepSettings& settings,
                       const PreferenceSettings& preference, int64_t step, const DataParallel& dp = {});

// The mean loss and metrics over `examples` without gradients (validation), z₀
// from all of them; with `world`, each rank scores its share. Throws whet::Error
// when an example has no reference log-probs.
KtoMetrics kto_eval(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                    std::span<const ReferencedKto> examples, const PreferenceSettings& settings,
                    dist::Communicator* world = nullptr);

}  // namespace whet
