#include "train/kto_step.h"

#include <array>

#include "core/error.h"
#include "train/answer_gradients.h"
#include "train/preference_step.h"

namespace whet {

std::vector<KtoSequences> kto_sequences(const std::vector<TokenizedUnpaired>& examples, int sequence_len,
                                        int32_t bos_id) {
  std::vector<KtoSequences> out;
  out.reserve(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const TokenizedUnpaired& own = examples[i];
    const std::vector<int32_t>& other = examples[(i + 1) % examples.size()].completion;
    std::vector<int32_t> prompt = own.prompt;
    // The other answer fitted beside its own prompt of at least one token, so there is room.
    WHET_ASSERT(fit_prompt(prompt, other.size(), sequence_len, false, bos_id) != LengthFit::Dropped);
    out.push_back({own.sequence(), answer_sequence(prompt, other), own.desirable});
  }
  return out;
}

std::vector<ReferencedKto> kto_reference_logps(const LlamaModel& model, LlamaActivations& acts,
                                               std::span<const KtoSequences> examples) {
  std::vector<ReferencedKto> out;
  out.reserve(examples.size());
  for (const KtoSequences& e : examples)
    out.push_back({&e, completion_logp(model, nullptr, acts, e.answer),
                   completion_logp(model, nullptr, acts, e.mismatched)});
  return out;
}

std::vector<std::pair<std::string, double>> KtoMetrics::logged() const {
  std::vector<std::pair<std::string, double>> out;
  if (desirable) out.insert(out.end(), {{"rewards_chosen", reward_desirable}, {"logps_chosen", logp_desirable}});
  if (undesirable)
    out.insert(out.end(), {{"rewards_rejected", reward_undesirable}, {"logps_rejected", logp_undesirable}});
  if (desirable && undesirable) out.emplace_back("rewards_margin", reward_desirable - reward_undesirable);
  out.emplace_back("kl", kl);
  return out;
}

double kto_batch_reference_point(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                                 std::span<const ReferencedKto> batch, dist::Communicator* world) {
  std::vector<double> mine, reference;
  for (const ReferencedKto& e : rank_share(batch, world))
    mine.push_back(completion_logp(model, lora, acts, e.example->mismatched));
  for (const ReferencedKto& e : batch) reference.push_back(e.ref_mismatched);
  return kto_reference_point(gathered_over_ranks(mine, batch.size(), world), reference);
}

namespace {

// Adds one example into the running means.
void add_example(KtoMetrics& m, const KtoLoss& loss, double logp, bool desirable, size_t batch_size) {
  m.loss += loss.loss / double(batch_size);
  int64_t& count = desirable ? m.desirable : m.undesirable;
  double& reward = desirable ? m.reward_desirable : m.reward_undesirable;
  double& logps = desirable ? m.logp_desirable : m.logp_undesirable;
  ++count;
  reward += (loss.reward - reward) / double(count);
  logps += (logp - logps) / double(count);
}

// Each rank's metrics of its share pooled into the batch's (z₀ is already the batch's).
KtoMetrics pooled_over_ranks(const KtoMetrics& m, dist::Communicator* world) {
  if (!world || world->size() == 1) return m;
  const double d = double(m.desirable), u = double(m.undesirable);
  std::array<double, 7> sums{m.loss, d, u, d * m.reward_desirable, u * m.reward_undesirable,
                             d * m.logp_desirable, u * m.logp_undesirable};
  sum_over_ranks(sums, world);
  KtoMetrics all;
  all.loss = sums[0];
  all.kl = m.kl;
  all.desirable = int64_t(sums[1]);
  all.undesirable = int64_t(sums[2]);
  if (all.desirable > 0) {
    all.reward_desirable = sums[3] / sums[1];
    all.logp_desirable = sums[5] / sums[1];
  }
  if (all.undesirable > 0) {
    all.reward_undesirable = sums[4] / sums[2];
    all.logp_undesirable = sums[6] / sums[2];
  }
  return all;
}

}  // namespace

KtoMetrics kto_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                        std::span<const ReferencedKto> batch, const PreferenceSettings& settings,
                        dist::Communicator* world) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  KtoMetrics metrics;
  metrics.kl = kto_batch_reference_point(model, pass.lora, acts, batch, world);
  AnswerGradients answers(model, pass, acts, 1);
  for (const ReferencedKto& e : rank_share(batch, world)) {
    const double logp = answers.measure(e.example->answer, 0);
    const KtoLoss loss = kto_loss({logp, e.ref, e.example->desirable}, metrics.kl, settings);
    add_example(metrics, loss, logp, e.example->desirable, batch.size());
    answers.add(e.example->answer, 0, loss.d_logp / double(batch.size()));
  }
  return pooled_over_ranks(metrics, world);
}

KtoStepResult kto_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                       std::span<const ReferencedKto> batch, const StepSettings& settings,
                       const PreferenceSettings& preference, int64_t step, const DataParallel& dp) {
  KtoStepResult r;
  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  r.metrics = kto_backward(loaded.model, pass, acts, batch, preference, dp.world);
  r.step.sync = sum_gradients(dp);
  for (const ReferencedKto& e : batch) r.step.tokens += int64_t(e.example->answer.ids.size());
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

KtoMetrics kto_eval(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                    std::span<const ReferencedKto> examples, const PreferenceSettings& settings,
                    dist::Communicator* world) {
  for (size_t i = 0; i < examples.size(); ++i)
    require_reference(examples[i].ref, examples[i].ref_mismatched, i, "example");
  KtoMetrics metrics;
  metrics.kl = kto_batch_reference_point(loaded.model, trainable.lora.get(), acts, examples, world);
  for (const ReferencedKto& e : rank_share(examples, world)) {
    const double logp = completion_logp(loaded.model, trainable.lora.get(), acts, e.example->answer);
    add_example(metrics, kto_loss({logp, e.ref, e.example->desirable}, metrics.kl, settings), logp,
                e.example->desirable, examples.size());
  }
  return pooled_over_ranks(metrics, world);
}

}  // namespace whet
