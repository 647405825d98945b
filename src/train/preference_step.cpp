#include "train/preference_step.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "train/answer_gradients.h"
#include "train/shared_prompt.h"

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

bool shares_prompt(const PreferenceSequences& p, const LlamaActivations& acts) {
  return shared_prompt_rows(p.chosen, p.rejected) <= acts.max_tokens;
}

struct AnswerLogps {
  double chosen = 0, rejected = 0;
};

// Both answers' log-probs, from one sequence when share is set and the pair fits.
AnswerLogps answer_logps(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                         const PreferenceSequences& p, bool share) {
  if (!share || !shares_prompt(p, acts))
    return {completion_logp(model, lora, acts, p.chosen), completion_logp(model, lora, acts, p.rejected)};
  const SharedPromptSequence shared = share_prompt(p.chosen, p.rejected);
  const std::vector<CrossEntropyResult> losses = llama_group_losses(model, lora, acts, shared.view(), shared.row_ends);
  return {-losses[0].loss_sum, -losses[1].loss_sum};
}

PairLogps logps_of(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts, const ReferencedPair& p,
                   bool share) {
  PairLogps l = references_of(p);
  const AnswerLogps answers = answer_logps(model, lora, acts, *p.pair, share);
  l.chosen = answers.chosen;
  l.rejected = answers.rejected;
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
  o.settings.kto_desirable_weight = c.kto_desirable_weight;
  o.settings.kto_undesirable_weight = c.kto_undesirable_weight;
  return o;
}

double completion_logp(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                       const TrainingSequence& sequence) {
  return -llama_loss(model, lora, acts, view(sequence)).loss_sum;
}

std::vector<ReferencedPair> reference_logps(const LlamaModel& model, LlamaActivations& acts,
                                            std::span<const PreferenceSequences> pairs,
                                            const std::function<void(size_t done)>& on_pair) {
  std::vector<ReferencedPair> out;
  out.reserve(pairs.size());
  for (const PreferenceSequences& p : pairs) {
    const AnswerLogps base = answer_logps(model, nullptr, acts, p, /*share=*/true);
    out.push_back({&p, base.chosen, base.rejected});
    if (on_pair) on_pair(out.size());
  }
  return out;
}

namespace {

// One forward and one backward of the pair as a shared-prompt sequence: the
// answers' losses decide their gradients' scales between the two.
void shared_pair_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                          const ReferencedPair& p, const PreferenceObjective& objective, double per_pair,
                          PreferenceMetrics& metrics) {
  const SharedPromptSequence shared = share_prompt(p.pair->chosen, p.pair->rejected);
  PairLogps logps = references_of(p);
  PairLoss loss;
  llama_forward_backward_grouped(model, pass, acts, shared.view(), shared.row_ends,
                                 [&](std::span<const CrossEntropyResult> answers) {
                                   logps.chosen = -answers[0].loss_sum;
                                   logps.rejected = -answers[1].loss_sum;
                                   loss = pair_loss(objective.loss, logps, objective.settings);
                                   // ∇loss = d·∇log π = −d·∇Σ cross-entropy
                                   return std::vector<float>{float(-loss.d_chosen * per_pair),
                                                             float(-loss.d_rejected * per_pair)};
                                 });
  add_pair(metrics, loss, logps);
}

}  // namespace

// The running means of PreferenceMetrics, pooled by their pair counts.
constexpr std::array<double PreferenceMetrics::*, 7> kPreferenceMeans{
    &PreferenceMetrics::loss,   &PreferenceMetrics::reward_chosen, &PreferenceMetrics::reward_rejected,
    &PreferenceMetrics::margin, &PreferenceMetrics::accuracy,      &PreferenceMetrics::logp_chosen,
    &PreferenceMetrics::logp_rejected};

PreferenceMetrics pooled_over_ranks(const PreferenceMetrics& m, dist::Communicator* world) {
  if (!world || world->size() == 1) return m;
  std::array<double, kPreferenceMeans.size() + 1> sums{double(m.pairs)};
  for (size_t i = 0; i < kPreferenceMeans.size(); ++i) sums[i + 1] = double(m.pairs) * (m.*kPreferenceMeans[i]);
  sum_over_ranks(sums, world);
  PreferenceMetrics all;
  all.pairs = int64_t(sums[0]);
  if (all.pairs > 0)
    for (size_t i = 0; i < kPreferenceMeans.size(); ++i) all.*kPreferenceMeans[i] = sums[i + 1] / sums[0];
  return all;
}

PreferenceMetrics preference_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                      std::span<const ReferencedPair> batch, const PreferenceObjective& objective,
                                      dist::Communicator* world) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  PreferenceMetrics metrics;
  const double per_pair = 1.0 / double(batch.size());
  AnswerGradients answers(model, pass, acts, 2);
  // The loss moves log π = −Σ cross-entropy: its gradient is d·∇log π.
  for (const ReferencedPair& p : rank_share(batch, world)) {
    if (objective.share_prompt && shares_prompt(*p.pair, acts)) {
      shared_pair_backward(model, pass, acts, p, objective, per_pair, metrics);
      continue;
    }
    PairLogps logps = references_of(p);
    logps.chosen = answers.measure(p.pair->chosen, 0);
    logps.rejected = answers.measure(p.pair->rejected, 1);
    const PairLoss loss = pair_loss(objective.loss, logps, objective.settings);
    add_pair(metrics, loss, logps);
    answers.add(p.pair->chosen, 0, loss.d_chosen * per_pair);
    answers.add(p.pair->rejected, 1, loss.d_rejected * per_pair);
  }
  return pooled_over_ranks(metrics, world);
}

PreferenceStepResult preference_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                                     std::span<const ReferencedPair> batch, const StepSettings& settings,
                                     const PreferenceObjective& objective, int64_t step, const DataParallel& dp) {
  PreferenceStepResult r;
  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  r.metrics = preference_backward(loaded.model, pass, acts, batch, objective, dp.world);
  r.step.sync = sum_gradients(dp);
  for (const ReferencedPair& p : batch) r.step.tokens += pair_tokens(p.pair->chosen, p.pair->rejected);
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

void require_reference(double a, double b, size_t index, std::string_view what) {
  if (std::isnan(a) || std::isnan(b))
    fail("evaluation", "{} {} has no reference log-probability: the reference must be computed for the evaluation "
                       "set as for the training set, before training changes the weights", what, index + 1);
}

PreferenceMetrics preference_eval(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                                  std::span<const ReferencedPair> pairs, const PreferenceObjective& objective,
                                  dist::Communicator* world) {
  for (size_t i = 0; i < pairs.size(); ++i) require_reference(pairs[i].ref_chosen, pairs[i].ref_rejected, i, "pair");
  PreferenceMetrics metrics;
  for (const ReferencedPair& p : rank_share(pairs, world)) {
    const PairLogps logps = logps_of(loaded.model, trainable.lora.get(), acts, p, objective.share_prompt);
    add_pair(metrics, pair_loss(objective.loss, logps, objective.settings), logps);
  }
  return pooled_over_ranks(metrics, world);
}

}  // namespace whet
