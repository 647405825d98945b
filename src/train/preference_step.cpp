#include "train/preference_step.h"

#include <algorithm>

#include "core/error.h"

namespace whet {

namespace {

int64_t completion_tokens(const TrainingSequence& s) {
  return std::max<int64_t>(1, std::count_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; }));
}

PairLogps logps_of(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts, const ReferencedPair& p) {
  PairLogps l;
  l.chosen = completion_logp(model, lora, acts, p.pair->chosen);
  l.rejected = completion_logp(model, lora, acts, p.pair->rejected);
  l.ref_chosen = p.ref_chosen;
  l.ref_rejected = p.ref_rejected;
  l.chosen_tokens = completion_tokens(p.pair->chosen);
  l.rejected_tokens = completion_tokens(p.pair->rejected);
  return l;
}

PreferenceLoss loss_kind(const TrainConfig& c) {
  if (c.rl == "simpo") return PreferenceLoss::Simpo;
  if (c.rl == "orpo") return PreferenceLoss::Orpo;
  if (c.dpo_loss_type == "robust") return PreferenceLoss::Robust;
  if (c.dpo_loss_type == "hinge") return PreferenceLoss::Hinge;
  if (c.dpo_loss_type == "ipo") return PreferenceLoss::Ipo;
  return PreferenceLoss::Sigmoid;
}

}  // namespace

PreferenceObjective preference_objective(const TrainConfig& c) {
  WHET_ASSERT(aligns(c));
  PreferenceObjective o;
  o.loss = loss_kind(c);
  o.settings.beta = c.rl_beta;
  o.settings.label_smoothing = c.dpo_label_smoothing;
  o.settings.simpo_gamma = c.simpo_gamma;
  o.settings.orpo_lambda = c.orpo_alpha;
  o.settings.rpo_alpha = c.rpo_alpha;
  return o;
}

double completion_logp(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                       const TrainingSequence& sequence) {
  return -llama_loss(model, lora, acts, view(sequence)).loss_sum;
}

std::vector<ReferencedPair> reference_logps(const LlamaModel& model, LlamaActivations& acts,
                                            const std::vector<PreferenceSequences>& pairs,
                                            const std::function<void(size_t done)>& on_pair) {
  std::vector<ReferencedPair> out;
  out.reserve(pairs.size());
  for (const PreferenceSequences& p : pairs) {
    out.push_back({&p, completion_logp(model, nullptr, acts, p.chosen),
                   completion_logp(model, nullptr, acts, p.rejected)});
    if (on_pair) on_pair(out.size());
  }
  return out;
}

PreferenceMetrics preference_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                      std::span<const ReferencedPair> batch, const PreferenceObjective& objective) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  PreferenceMetrics metrics;
  const double per_pair = 1.0 / double(batch.size());
  // The loss moves log π = −Σ cross-entropy: its gradient d·∇log π is the
  // cross-entropy's backward scaled by −d. A zero weight (a hinge past its
  // margin) has nothing to add.
  auto backward = [&](const TrainingSequence& s, double d) {
    if (d != 0) llama_forward_backward(model, pass, acts, view(s), float(-d * per_pair));
  };
  for (const ReferencedPair& p : batch) {
    const PairLogps logps = logps_of(model, pass.lora, acts, p);
    const PairLoss loss = pair_loss(objective.loss, logps, objective.settings);
    add_pair(metrics, loss, logps);
    backward(p.pair->chosen, loss.d_chosen);
    backward(p.pair->rejected, loss.d_rejected);
  }
  return metrics;
}

PreferenceStepResult preference_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                                     std::span<const ReferencedPair> batch, const StepSettings& settings,
                                     const PreferenceObjective& objective, int64_t step) {
  PreferenceStepResult r;
  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  r.metrics = preference_backward(loaded.model, pass, acts, batch, objective);
  for (const ReferencedPair& p : batch) r.step.tokens += int64_t(p.pair->chosen.ids.size() + p.pair->rejected.ids.size());
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

PreferenceMetrics preference_eval(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                                  std::span<const ReferencedPair> pairs, const PreferenceObjective& objective) {
  PreferenceMetrics metrics;
  for (const ReferencedPair& p : pairs) {
    const PairLogps logps = logps_of(loaded.model, trainable.lora.get(), acts, p);
    add_pair(metrics, pair_loss(objective.loss, logps, objective.settings), logps);
  }
  return metrics;
}

}  // namespace whet
