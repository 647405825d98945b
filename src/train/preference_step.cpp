#include "train/preference_step.h"

#include <algorithm>

#include "core/error.h"

namespace whet {

namespace {

int64_t completion_tokens(const TrainingSequence& s) {
  return std::max<int64_t>(1, std::count_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; }));
}

// What a pair's loss needs besides the policy's log-probs.
PairLogps references_of(const ReferencedPair& p) {
  PairLogps l;
  l.ref_chosen = p.ref_chosen;
  l.ref_rejected = p.ref_rejected;
  l.chosen_tokens = completion_tokens(p.pair->chosen);
  l.rejected_tokens = completion_tokens(p.pair->rejected);
  return l;
}

PairLogps logps_of(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts, const ReferencedPair& p) {
  PairLogps l = references_of(p);
  l.chosen = completion_logp(model, lora, acts, p.pair->chosen);
  l.rejected = completion_logp(model, lora, acts, p.pair->rejected);
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
  WHET_ASSERT(aligns(c) && c.rpo_alpha >= 0 && c.rl_beta >= 0);  // decided, not auto (train/auto_settings.h)
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

namespace {

// dst += w · src, tensor by tensor (adapters of one layout); w 0: nothing.
void add_scaled(LlamaLora& dst, LlamaLora& src, float w) {
  if (w == 0) return;
  std::vector<std::vector<float>*> from;
  for_each_lora_tensor(src, [&](const std::string&, std::vector<float>& t, int64_t, int64_t) { from.push_back(&t); });
  size_t i = 0;
  for_each_lora_tensor(dst, [&](const std::string&, std::vector<float>& t, int64_t, int64_t) {
    const std::vector<float>& s = *from[i++];
    for (size_t k = 0; k < t.size(); ++k) t[k] += w * s[k];
  });
}

void zero(LlamaLora& lora) {
  for_each_lora_tensor(lora, [](const std::string&, std::vector<float>& t, int64_t, int64_t) {
    std::fill(t.begin(), t.end(), 0.0f);
  });
}

// When only an adapter trains, each answer runs forward and backward once, into
// an adapter-sized scratch gradient (∇Σ cross-entropy = −∇log π), scaled into
// the real gradients once the pair's loss is known. When base weights train, a
// scratch gradient would be the model's size: the answer runs forward for its
// log-prob, then forward and backward again with its weight.
class AnswerGradients {
 public:
  AnswerGradients(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts)
      : model_(model), pass_(pass), acts_(acts) {
    if (pass.lora_grads && !pass.grads) scratch_ = {zeros_like(*pass.lora), zeros_like(*pass.lora)};
  }

  // The pair's log-probs, with the scratch gradients of its answers when kept.
  PairLogps measure(const ReferencedPair& p) {
    if (scratch_.empty()) return logps_of(model_, pass_.lora, acts_, p);
    PairLogps l = references_of(p);
    l.chosen = -into_scratch(p.pair->chosen, scratch_[0]);
    l.rejected = -into_scratch(p.pair->rejected, scratch_[1]);
    return l;
  }

  // Adds weight_c·∇log π_c + weight_r·∇log π_r to the gradients.
  void add(const ReferencedPair& p, double weight_c, double weight_r) {
    if (!scratch_.empty()) {
      add_scaled(*pass_.lora_grads, scratch_[0], float(-weight_c));
      add_scaled(*pass_.lora_grads, scratch_[1], float(-weight_r));
      return;
    }
    // A zero weight (a hinge past its margin) has nothing to add.
    if (weight_c != 0) llama_forward_backward(model_, pass_, acts_, view(p.pair->chosen), float(-weight_c));
    if (weight_r != 0) llama_forward_backward(model_, pass_, acts_, view(p.pair->rejected), float(-weight_r));
  }

 private:
  double into_scratch(const TrainingSequence& s, LlamaLora& scratch) {
    zero(scratch);
    TrainPass pass = pass_;
    pass.lora_grads = &scratch;
    return llama_forward_backward(model_, pass, acts_, view(s), 1.0f).loss_sum;
  }

  const LlamaModel& model_;
  const TrainPass& pass_;
  LlamaActivations& acts_;
  std::vector<LlamaLora> scratch_;  // chosen's, rejected's
};

}  // namespace

PreferenceMetrics preference_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                      std::span<const ReferencedPair> batch, const PreferenceObjective& objective) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  PreferenceMetrics metrics;
  const double per_pair = 1.0 / double(batch.size());
  AnswerGradients answers(model, pass, acts);
  // The loss moves log π = −Σ cross-entropy: its gradient is d·∇log π.
  for (const ReferencedPair& p : batch) {
    const PairLogps logps = answers.measure(p);
    const PairLoss loss = pair_loss(objective.loss, logps, objective.settings);
    add_pair(metrics, loss, logps);
    answers.add(p, loss.d_chosen * per_pair, loss.d_rejected * per_pair);
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
