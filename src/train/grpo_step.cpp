#include "train/grpo_step.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "data/tokenize_preference.h"

namespace whet {

GrpoObjective grpo_objective(const TrainConfig& c) {
  WHET_ASSERT(c.rl == "grpo" && c.rl_beta >= 0);  // rl_beta decided, not auto
  GrpoObjective o;
  o.loss.clip_low = o.loss.clip_high = c.grpo_epsilon;
  o.loss.beta = c.rl_beta;
  o.rollout.group_size = c.num_generations;
  o.rollout.max_tokens = c.max_completion_length;
  o.rollout.sampling.temperature = float(c.rollout_temperature);
  o.rollout.sampling.top_p = float(c.rollout_top_p);
  o.rollout.sampling.seed = uint64_t(c.seed);
  return o;
}

namespace {

using Clock = std::chrono::steady_clock;

// Summed over a step, divided at the end.
struct TokenTotals {
  double kl = 0, clipped = 0, tokens = 0;
};

// Per-token log-probs of the sequence's targets under `lora` (null: the base); 0 where no target.
std::vector<double> token_logps(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                                const TrainingSequence& s) {
  std::vector<double> losses(s.ids.size(), 0.0);
  llama_loss(model, lora, acts, view(s), RowTerms{nullptr, losses.data()});
  for (double& l : losses) l = -l;
  return losses;
}

// One completion's token weights on the cross-entropy backward (−d(loss)/d(log π)
// per token, divided by its length and the batch size); returns its share of the loss.
double completion_weights(const GrpoCompletion& c, std::span<const double> logp, std::span<const double> ref,
                          const GrpoSettings& settings, double per_sequence, std::vector<float>& weights,
                          TokenTotals& totals) {
  const auto& targets = c.sequence.targets;
  double tokens = 0;
  for (int32_t t : targets) tokens += t >= 0 ? 1 : 0;
  weights.assign(targets.size(), 0.0f);
  double loss = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] < 0) continue;
    // The rollout policy is the current one: old log-prob = log-prob, ratio 1.
    const GrpoTokenLoss t = grpo_token_loss(logp[i], logp[i], ref[i], c.advantage, settings);
    loss += t.loss / tokens;
    weights[i] = float(-t.d_logp / tokens * per_sequence);
    totals.kl += t.kl;
    totals.clipped += t.clipped ? 1 : 0;
  }
  totals.tokens += tokens;
  return loss * per_sequence;
}

}  // namespace

GrpoMetrics grpo_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                          std::span<const GrpoCompletion> batch, const GrpoSettings& settings) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  if (settings.beta > 0 && !pass.lora) fail("grpo", "rl_beta > 0 needs method lora, whose base is the reference");
  GrpoMetrics m;
  TokenTotals totals;
  const double per_sequence = 1.0 / double(batch.size());
  std::vector<float> weights;
  for (const GrpoCompletion& c : batch) {
    // With β = 0 and ratio 1 a token's weight is the advantage alone: no forward is needed to know it.
    const bool kl = settings.beta > 0;
    const std::vector<double> logp = kl ? token_logps(model, pass.lora, acts, c.sequence)
                                        : std::vector<double>(c.sequence.ids.size(), 0.0);
    const std::vector<double> ref = kl ? token_logps(model, nullptr, acts, c.sequence) : logp;
    m.loss += completion_weights(c, logp, ref, settings, per_sequence, weights, totals);
    if (!kl && c.advantage == 0) continue;  // every weight is 0
    llama_forward_backward(model, pass, acts, view(c.sequence), 1.0f, RowTerms{weights.data(), nullptr});
  }
  m.kl = totals.tokens > 0 ? totals.kl / totals.tokens : 0;
  m.clip_fraction = totals.tokens > 0 ? totals.clipped / totals.tokens : 0;
  return m;
}

namespace {

// The rewards' mean, the mean sample std of the groups, and the share of groups with no spread.
void add_reward_metrics(std::span<const double> rewards, int group_size, GrpoMetrics& m) {
  const size_t groups = rewards.size() / size_t(group_size);
  for (double r : rewards) m.reward_mean += r / double(rewards.size());
  for (size_t g = 0; g < groups; ++g) {
    const std::span<const double> group = rewards.subspan(g * size_t(group_size), size_t(group_size));
    double mean = 0, squares = 0;
    for (double r : group) mean += r / double(group.size());
    for (double r : group) squares += (r - mean) * (r - mean);
    const double std = group.size() > 1 ? std::sqrt(squares / double(group.size() - 1)) : 0;
    m.reward_std += std / double(groups);
    m.zero_std_fraction += (std == 0 ? 1.0 : 0.0) / double(groups);
  }
}

}  // namespace

GrpoStepResult grpo_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                         std::span<const PromptItem* const> prompts, Grader& grader, const StepSettings& settings,
                         const GrpoObjective& objective, int64_t step) {
  std::vector<std::vector<int32_t>> prompt_tokens;
  for (const PromptItem* p : prompts) prompt_tokens.push_back(p->prompt);
  RolloutOptions rollout = objective.rollout;
  rollout.sampling.seed += uint64_t(step) * 1000003u;
  GrpoStepResult r;
  const auto started = Clock::now();
  const std::vector<Rollout> rollouts = generate_rollouts(loaded, learner.trainable.lora.get(), prompt_tokens, rollout);
  const auto generated = Clock::now();
  r.rollout_seconds = std::chrono::duration<double>(generated - started).count();

  std::vector<double> rewards;
  for (const Rollout& o : rollouts) {
    const PromptItem& p = *prompts[o.prompt];
    const Grade g = grader.grade({o.text, p.item, p.prompt, o.tokens});
    if (!g.warning.empty()) r.warnings.push_back(p.where + ": " + g.warning);
    rewards.push_back(g.score);
  }
  r.grade_seconds = std::chrono::duration<double>(Clock::now() - generated).count();
  const std::vector<double> advantages = group_advantages(rewards, rollout.group_size);
  std::vector<GrpoCompletion> batch;
  for (size_t i = 0; i < rollouts.size(); ++i) {
    batch.push_back({answer_sequence(prompts[rollouts[i].prompt]->prompt, rollouts[i].tokens), advantages[i]});
    r.step.tokens += int64_t(batch.back().sequence.ids.size());
  }

  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  const GrpoMetrics measured = grpo_backward(loaded.model, pass, acts, batch, objective.loss);
  r.metrics = measured;
  add_reward_metrics(rewards, rollout.group_size, r.metrics);
  for (const Rollout& o : rollouts) {
    r.metrics.completion_length += double(o.tokens.size()) / double(rollouts.size());
    r.metrics.ended_fraction += (o.ended ? 1.0 : 0.0) / double(rollouts.size());
  }
  r.metrics.grader_warnings = int64_t(r.warnings.size());
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

}  // namespace whet
