#include "train/train_step.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "train/grad_clip.h"

namespace whet {

namespace {

int64_t target_count(const TrainingSequence& s) {
  if (s.label >= 0) return 1;
  return std::count_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; });
}

// One sequence's summed loss, and with a non-zero grad_scale its gradients:
// through the LM head, or through the classification head for a labelled one.
// `model`: the masters, or the step's bf16 compute copy of them.
CrossEntropyResult sequence_loss(const LlamaModel& model, const TrainableState& state, const TrainPass& pass,
                                 LlamaActivations& acts, const TrainingSequence& s, float grad_scale) {
  if (s.label >= 0) {
    ClassifierTraining& c = *state.classifier;
    const bool backward = grad_scale != 0.0f;
    ClassifierPass head =
        c.head.pass(s.label, backward ? c.dweight.data() : nullptr, backward ? c.dbias.data() : nullptr);
    if (!caches_classifier_features(state))
      return {llama_classify(model, pass, acts, s.ids, head, grad_scale).loss, 1};
    auto cached = c.features.find(&s);
    if (cached == c.features.end())
      cached = c.features.emplace(&s, llama_pooled_hidden(model, nullptr, acts, s.ids, head.pooling)).first;
    // The pooled vector is the head's whole input: one row, "last" pooling of it is itself.
    const ClassifierHeadResult r =
        classifier_head(nullptr, head.dweight, head.dbias, cached->second.data(), 1,
                        int64_t(cached->second.size()), head.weight, head.bias, head.labels, Pooling::Last, s.label,
                        grad_scale);
    return {r.loss, 1};
  }
  return grad_scale != 0.0f ? llama_forward_backward(model, pass, acts, view(s), grad_scale)
                            : llama_loss(model, pass.lora, acts, view(s));
}

// EWC and L2-SP: their gradients join the loss's before clipping, so the clip
// bounds the whole update.
void add_penalties(const Learner& learner, StepResult& result) {
  result.ewc_penalty = add_penalty_gradient(learner.penalties.ewc, learner.trainable.parameters);
  result.l2sp_penalty = add_penalty_gradient(learner.penalties.l2sp, learner.trainable.parameters);
}

// Summed losses of one group of a step's sequences (the task's or replay's).
struct GroupLoss {
  double loss_sum = 0.0, distill_sum = 0.0;
  int64_t targets = 0;
};

int64_t total_targets(std::span<const TrainingSequence* const> group) {
  int64_t targets = 0;
  for (const TrainingSequence* s : group) targets += target_count(*s);
  return targets;
}

// Forward and backward of one group, each sequence with its own dropout masks
// (`first` numbers the group's first sequence within the step's global batch);
// distill_scale > 0 also distils the group from the base. `last_hook`, when set,
// hears the blocks of the last sequence's backward (data-parallel gradient buckets).
GroupLoss backward_group(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                         std::span<const TrainingSequence* const> group, const StepSettings& settings, int64_t step,
                         size_t first, float grad_scale, float distill_scale,
                         const std::function<void(int)>& last_hook = {}) {
  GroupLoss sums;
  TrainPass pass = learner.trainable.pass();
  if (distill_scale > 0) {
    pass.distill_temperature = settings.distill.temperature;
    pass.distill_grad_scale = distill_scale;
  }
  for (size_t i = 0; i < group.size(); ++i) {
    pass.dropout_seed = settings.seed * 0x9e3779b97f4a7c15ull + uint64_t(step) * 1024 + first + i;
    if (i + 1 == group.size()) pass.after_block_backward = last_hook;
    const CrossEntropyResult r = sequence_loss(compute_model(learner.trainable, loaded.model), learner.trainable,
                                               pass, acts, *group[i], grad_scale);
    sums.loss_sum += r.loss_sum;
    sums.distill_sum += r.distill_sum;
    sums.targets += target_count(*group[i]);
  }
  return sums;
}

// The task's and replay's losses and gradients. The objective is the task's
// mean loss plus replay's mean loss, each over its own targets (so the task's
// gradient keeps its size however many tokens replay carries: a prompt-masked
// task may have a few targets per sequence, a replay paragraph hundreds), plus
// distill weight × the mean distillation loss over the distilled targets.
// Data-parallel, `batch` and `replay` are the global batch (every rank holds the
// data): the target counts that normalise the loss are counted here, so no rank
// waits for another before its backward; each rank runs its shard, and the
// gradients' and losses' sums over the ranks are those of the whole batch.
void backward_batch(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                    std::span<const TrainingSequence* const> batch, std::span<const TrainingSequence* const> replay,
                    const StepSettings& settings, int64_t step, const DataParallel& dp, StepResult& result) {
  const DistillSettings& kd = settings.distill;
  const bool kd_task = kd.weight > 0 && kd.on_task, kd_replay = kd.weight > 0 && kd.on_replay;
  const int64_t task_targets = total_targets(batch), replay_targets = total_targets(replay);
  const int64_t distilled = (kd_task ? task_targets : 0) + (kd_replay ? replay_targets : 0);
  const float kd_scale = distilled > 0 ? float(kd.weight / double(distilled)) : 0.0f;
  const dist::Shard task_shard = rank_shard(batch.size(), dp.world);
  const dist::Shard replay_shard = rank_shard(replay.size(), dp.world);
  const auto my_batch = rank_share(batch, dp.world);
  const auto my_replay = rank_share(replay, dp.world);
  std::function<void(int)> hook;
  if (dp.sync) hook = [&dp](int layer) { dp.sync->block_done(layer); };
  const GroupLoss task = backward_group(loaded, learner, acts, my_batch, settings, step, size_t(task_shard.begin),
                                        1.0f / float(task_targets), kd_task ? kd_scale : 0.0f,
                                        my_replay.empty() ? hook : nullptr);
  const GroupLoss rep = backward_group(loaded, learner, acts, my_replay, settings, step,
                                       batch.size() + size_t(replay_shard.begin),
                                       replay_targets > 0 ? 1.0f / float(replay_targets) : 0.0f,
                                       kd_replay ? kd_scale : 0.0f, hook);
  std::array<double, 3> sums{task.loss_sum, rep.loss_sum, task.distill_sum + rep.distill_sum};
  result.sync = sum_gradients(dp);
  sum_over_ranks(sums, dp.world);
  result.loss = sums[0] / double(task_targets);
  if (!replay.empty()) result.replay_loss = sums[1] / double(replay_targets);
  if (distilled > 0) result.distill_loss = sums[2] / double(distilled);
}

}  // namespace

bool caches_classifier_features(const TrainableState& trainable) {
  return trainable.classifier && !trainable.grads && !trainable.lora;
}

StepSettings step_settings(const TrainConfig& config, int64_t total_steps) {
  WHET_ASSERT(config.learning_rate > 0);  // decided, not auto (train/auto_settings.h)
  const int64_t warmup = config.warmup_steps > 0 ? config.warmup_steps
                                                 : int64_t(std::ceil(config.warmup_ratio * double(total_steps)));
  const DistillSettings distill{config.distill_weight, float(config.distill_temperature),
                                config.distill_on != "replay", config.distill_on != "task"};
  return StepSettings{LrSchedule{config.lr_scheduler, warmup, 0.0}, config.learning_rate, total_steps,
                      config.max_grad_norm, uint64_t(config.seed), distill};
}

StepResult train_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                      std::span<const TrainingSequence* const> batch, const StepSettings& settings, int64_t step,
                      std::span<const TrainingSequence* const> replay, const DataParallel& dp) {
  StepResult result;
  for (const TrainingSequence* s : batch) result.tokens += int64_t(s->ids.size());
  for (const TrainingSequence* s : replay) result.tokens += int64_t(s->ids.size());
  backward_batch(loaded, learner, acts, batch, replay, settings, step, dp, result);
  apply_update(learner, settings, step, result);
  return result;
}

void apply_update(Learner& learner, const StepSettings& settings, int64_t step, StepResult& result) {
  add_penalties(learner, result);
  const std::vector<Parameter>& parameters = learner.trainable.parameters;
  result.grad_norm = grad_norm(parameters);
  result.lr = lr_at(settings.schedule, settings.learning_rate, step, settings.total_steps);
  result.updated = std::isfinite(result.grad_norm);
  const float clip = settings.max_grad_norm > 0 ? clip_factor(result.grad_norm, settings.max_grad_norm) : 1.0f;
  // The step leaves the gradients zero, in its own pass; a skipped one, zero_grads.
  if (result.updated) {
    learner.optimizer.step(result.lr, clip);
  } else {
    zero_grads(learner.trainable);
  }
}

double mean_loss(const LoadedModel& loaded, const TrainableState& trainable, LlamaActivations& acts,
                 const std::vector<TrainingSequence>& sequences, dist::Communicator* world) {
  const dist::Shard mine = rank_shard(sequences.size(), world);
  std::array<double, 2> sums{0.0, 0.0};  // loss, targets
  TrainPass pass;
  pass.lora = trainable.lora.get();
  pass.bf16_products = trainable.bf16_products;
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const CrossEntropyResult r = sequence_loss(loaded.model, trainable, pass, acts, sequences[size_t(i)], 0.0f);
    sums[0] += r.loss_sum;
    sums[1] += double(r.targets);
  }
  sum_over_ranks(sums, world);
  return sums[1] > 0 ? sums[0] / sums[1] : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace whet
