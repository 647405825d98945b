#pragma once
// The gradient of a loss on answers' summed log-probabilities, on the
// cross-entropy engine: an answer is measured first (its log π, the loss needs
// it), and once the loss has given d(loss)/d(log π) that weight goes on the
// answer's backward. Preference methods (DPO's pair, KTO's example) all work so.
#include <vector>

#include "data/sequences.h"
#include "models/llama_train.h"
#include "train/train_step.h"

namespace whet {

// When only an adapter trains, each answer runs forward and backward once, into
// an adapter-sized scratch gradient (∇Σ cross-entropy = −∇log π) kept in one of
// `slots`, and is scaled into the real gradients once its weight is known. When
// base weights train, a scratch gradient would be the model's size: the answer
// runs forward for its log-prob, then forward and backward again with its weight.
class AnswerGradients {
 public:
  AnswerGradients(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts, int slots);

  // log π of the answer's targets (in double), its gradient kept in `slot` when scratch is used.
  double measure(const TrainingSequence& answer, int slot);
  // Adds weight·∇log π of the answer measured last into `slot` to the gradients.
  void add(const TrainingSequence& answer, int slot, double weight);

 private:
  const LlamaModel& model_;
  const TrainPass& pass_;
  LlamaActivations& acts_;
  int slots_;
  std::vector<LlamaLora> scratch_;  // one per slot once an answer needs them, or none
};

}  // namespace whet
