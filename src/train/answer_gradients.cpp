#include "train/answer_gradients.h"

#include <algorithm>

namespace whet {

AnswerGradients::AnswerGradients(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts, int slots)
    : model_(model), pass_(pass), acts_(acts), slots_(slots) {}

double AnswerGradients::measure(const TrainingSequence& answer, int slot) {
  if (!pass_.lora_grads || pass_.grads) return -llama_loss(model_, pass_.lora, acts_, view(answer)).loss_sum;
  // Made for the first answer that needs them (a shared-prompt pair never does).
  while (int(scratch_.size()) < slots_) scratch_.push_back(zeros_like(*pass_.lora));
  LlamaLora& scratch = scratch_.at(size_t(slot));
  zero_lora(scratch);
  TrainPass pass = pass_;
  pass.lora_grads = &scratch;
  return -llama_forward_backward(model_, pass, acts_, view(answer), 1.0f).loss_sum;
}

void AnswerGradients::add(const TrainingSequence& answer, int slot, double weight) {
  if (!scratch_.empty()) {
    add_scaled_lora(*pass_.lora_grads, scratch_.at(size_t(slot)), float(-weight));
    return;
  }
  // A zero weight (a hinge past its margin) has nothing to add.
  if (weight != 0) llama_forward_backward(model_, pass_, acts_, view(answer), float(-weight));
}

}  // namespace whet
