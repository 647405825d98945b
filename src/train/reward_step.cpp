#include "train/reward_step.h"

#include <array>
#include <optional>

#include "core/error.h"

namespace whet {

namespace {

// One answer's gradients of its score, kept apart until the pair's loss says
// how much of them counts: the head's always (hidden values), the adapter's
// when it is what trains.
struct ScoreScratch {
  std::vector<float> dweight, dbias;
  std::optional<LlamaLora> lora;
};

// A pair's scores, and their gradients weighted by d(loss)/d(r). With no base
// weight training, each answer runs forward and backward once into its
// scratch; with base weights (whose scratch would be the model's size), each
// answer runs forward for its score, then again with its weighted backward.
class ScoreGradients {
 public:
  ScoreGradients(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts, const ClassifierPass& head)
      : model_(model), pass_(pass), acts_(acts), head_(head), two_pass_(pass.grads != nullptr) {
    for (ScoreScratch& s : scratch_) {
      s.dweight.resize(size_t(model.config.hidden_size));
      s.dbias.resize(1);
      if (!two_pass_ && pass.lora_grads) s.lora = zeros_like(*pass.lora);
    }
  }

  std::array<double, 2> measure(const RewardPair& p) {
    return {score(p.chosen, scratch_[0]), score(p.rejected, scratch_[1])};
  }

  // Adds weight_c·∇r_c + weight_r·∇r_r to the gradients.
  void add(const RewardPair& p, double weight_c, double weight_r) {
    if (two_pass_) {
      // A zero weight has nothing to add.
      if (weight_c != 0) llama_score(model_, pass_, acts_, p.chosen, head_, float(weight_c));
      if (weight_r != 0) llama_score(model_, pass_, acts_, p.rejected, head_, float(weight_r));
      return;
    }
    add_scratch(scratch_[0], float(weight_c));
    add_scratch(scratch_[1], float(weight_r));
  }

 private:
  double score(const std::vector<int32_t>& ids, ScoreScratch& s) {
    TrainPass pass = pass_;
    ClassifierPass head = head_;
    if (two_pass_) {
      pass.grads = nullptr;
      pass.lora_grads = nullptr;
      head.dweight = head.dbias = nullptr;
      return llama_score(model_, pass, acts_, ids, head, 0.0f);
    }
    std::fill(s.dweight.begin(), s.dweight.end(), 0.0f);
    s.dbias[0] = 0.0f;
    head.dweight = head_.dweight ? s.dweight.data() : nullptr;
    head.dbias = head_.dbias ? s.dbias.data() : nullptr;
    if (s.lora) {
      zero_lora(*s.lora);
      pass.lora_grads = &*s.lora;
    }
    return llama_score(model_, pass, acts_, ids, head, 1.0f);
  }

  void add_scratch(const ScoreScratch& s, float w) {
    if (head_.dweight)
      for (size_t k = 0; k < s.dweight.size(); ++k) head_.dweight[k] += w * s.dweight[k];
    if (head_.dbias) head_.dbias[0] += w * s.dbias[0];
    if (s.lora) add_scaled_lora(*pass_.lora_grads, *s.lora, w);
  }

  const LlamaModel& model_;
  const TrainPass& pass_;
  LlamaActivations& acts_;
  const ClassifierPass& head_;
  bool two_pass_;
  std::array<ScoreScratch, 2> scratch_;  // chosen's, rejected's
};

}  // namespace

PreferenceMetrics reward_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                                  const ClassifierPass& head, std::span<const RewardPair* const> batch,
                                  const RewardObjective& objective, dist::Communicator* world) {
  WHET_ASSERT(pass.lora_dropout == 0.0f && head.labels == 1);
  PreferenceMetrics metrics;
  const double per_pair = 1.0 / double(batch.size());
  ScoreGradients scores(model, pass, acts, head);
  for (const RewardPair* p : rank_share(batch, world)) {
    const auto [chosen, rejected] = scores.measure(*p);
    const PairLoss loss = reward_pair_loss(chosen, rejected, p->margin, objective.center_coefficient);
    add_pair(metrics, loss, PairLogps{});
    scores.add(*p, loss.d_chosen * per_pair, loss.d_rejected * per_pair);
  }
  return pooled_over_ranks(metrics, world);
}

PreferenceStepResult reward_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                                 std::span<const RewardPair* const> batch, const StepSettings& settings,
                                 const RewardObjective& objective, int64_t step, const DataParallel& dp) {
  WHET_ASSERT(learner.trainable.classifier);
  ClassifierTraining& head = *learner.trainable.classifier;
  PreferenceStepResult r;
  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  r.metrics = reward_backward(loaded.model, pass, acts, head.head.pass(-1, head.dweight.data(), head.dbias.data()),
                              batch, objective, dp.world);
  r.step.sync = sum_gradients(dp);
  for (const RewardPair* p : batch) r.step.tokens += int64_t(p->chosen.size() + p->rejected.size());
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

PreferenceMetrics reward_eval(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                              const SequenceClassifier& head, std::span<const RewardPair> pairs,
                              const RewardObjective& objective, dist::Communicator* world) {
  PreferenceMetrics metrics;
  for (const RewardPair& p : rank_share(pairs, world)) {
    const double chosen = reward_score(model, lora, acts, p.chosen, head);
    const double rejected = reward_score(model, lora, acts, p.rejected, head);
    add_pair(metrics, reward_pair_loss(chosen, rejected, p.margin, objective.center_coefficient), PairLogps{});
  }
  return pooled_over_ranks(metrics, world);
}

}  // namespace whet
