#include "train/grpo_step.h"

#include <array>
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

// Summed over a step (and its ranks), divided at the end.
struct TokenTotals {
  double loss = 0, kl = 0, clipped = 0, tokens = 0;
};
constexpr std::array<double TokenTotals::*, 4> kTokenTotals{&TokenTotals::loss, &TokenTotals::kl,
                                                            &TokenTotals::clipped, &TokenTotals::tokens};

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
                          std::span<const GrpoCompletion> batch, const GrpoSettings& settings,
                          dist::Communicator* world) {
  WHET_ASSERT(pass.lora_dropout == 0.0f);
  if (settings.beta > 0 && !pass.lora) fail("grpo", "rl_beta > 0 needs method lora, whose base is the reference");
  std::array<double, 1> completions{double(batch.size())};
  sum_over_ranks(completions, world);
  TokenTotals totals;
  const double per_sequence = 1.0 / completions[0];
  std::vector<float> weights;
  for (const GrpoCompletion& c : batch) {
    // With β = 0 and ratio 1 a token's weight is the advantage alone: no forward is needed to know it.
    const bool kl = settings.beta > 0;
    const std::vector<double> logp = kl ? token_logps(model, pass.lora, acts, c.sequence)
                                        : std::vector<double>(c.sequence.ids.size(), 0.0);
    const std::vector<double> ref = kl ? token_logps(model, nullptr, acts, c.sequence) : logp;
    totals.loss += completion_weights(c, logp, ref, settings, per_sequence, weights, totals);
    if (!kl && c.advantage == 0) continue;  // every weight is 0
    llama_forward_backward(model, pass, acts, view(c.sequence), 1.0f, RowTerms{weights.data(), nullptr});
  }
  sum_over_ranks(totals, kTokenTotals, world);
  GrpoMetrics m;
  m.loss = totals.loss;
  m.kl = totals.tokens > 0 ? totals.kl / totals.tokens : 0;
  m.clip_fraction = totals.tokens > 0 ? totals.clipped / totals.tokens : 0;
  return m;
}

namespace {

// What a step's rollouts add up to, summed over the ranks before the means are taken.
struct RolloutTotals {
  double completions = 0, reward = 0, tokens = 0, ended = 0, warnings = 0;
  double groups = 0, group_std = 0, zero_std_groups = 0;  // of groups' sample stds
};
constexpr std::array<double RolloutTotals::*, 8> kRolloutTotals{
    &RolloutTotals::completions, &RolloutTotals::reward,    &RolloutTotals::tokens,   &RolloutTotals::ended,
    &RolloutTotals::warnings,    &RolloutTotals::groups,    &RolloutTotals::group_std, &RolloutTotals::zero_std_groups};

RolloutTotals rollout_totals(std::span<const Rollout> rollouts, std::span<const double> rewards, int group_size,
                             size_t warnings) {
  RolloutTotals t;
  t.warnings = double(warnings);
  for (size_t i = 0; i < rollouts.size(); ++i) {
    t.completions += 1;
    t.reward += rewards[i];
    t.tokens += double(rollouts[i].tokens.size());
    t.ended += rollouts[i].ended ? 1 : 0;
  }
  for (size_t g = 0; g < rewards.size() / size_t(group_size); ++g) {
    const std::span<const double> group = rewards.subspan(g * size_t(group_size), size_t(group_size));
    double mean = 0, squares = 0;
    for (double r : group) mean += r / double(group.size());
    for (double r : group) squares += (r - mean) * (r - mean);
    const double std = group.size() > 1 ? std::sqrt(squares / double(group.size() - 1)) : 0;
    t.groups += 1;
    t.group_std += std;
    t.zero_std_groups += std == 0 ? 1 : 0;
  }
  return t;
}

// The rewards' mean, the mean sample std of the groups, the share of groups with no spread, and the lengths.
void add_rollout_metrics(const RolloutTotals& t, GrpoMetrics& m) {
  m.reward_mean = t.reward / t.completions;
  m.reward_std = t.group_std / t.groups;
  m.zero_std_fraction = t.zero_std_groups / t.groups;
  m.completion_length = t.tokens / t.completions;
  m.ended_fraction = t.ended / t.completions;
  m.grader_warnings = int64_t(t.warnings);
}

}  // namespace

GrpoStepResult grpo_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                         std::span<const PromptItem* const> prompts, Grader& grader, const StepSettings& settings,
                         const GrpoObjective& objective, int64_t step, const DataParallel& dp) {
  const dist::Shard shard = rank_shard(prompts.size(), dp.world);
  const std::span<const PromptItem* const> mine = rank_share(prompts, dp.world);
  std::vector<std::vector<int32_t>> prompt_tokens;
  for (const PromptItem* p : mine) prompt_tokens.push_back(p->prompt);
  RolloutOptions rollout = objective.rollout;
  rollout.sampling.seed += uint64_t(step) * 1000003u + uint64_t(shard.begin) * uint64_t(rollout.group_size);
  GrpoStepResult r;
  const auto started = Clock::now();
  const std::vector<Rollout> rollouts = generate_rollouts(loaded, learner.trainable.lora.get(), prompt_tokens, rollout);
  const auto generated = Clock::now();
  r.rollout_seconds = std::chrono::duration<double>(generated - started).count();

  std::vector<double> rewards;
  for (const Rollout& o : rollouts) {
    const PromptItem& p = *mine[o.prompt];
    const Grade g = grader.grade({o.text, p.item, p.prompt, o.tokens});
    if (!g.warning.empty()) r.warnings.push_back(p.where + ": " + g.warning);
    rewards.push_back(g.score);
  }
  r.grade_seconds = std::chrono::duration<double>(Clock::now() - generated).count();
  const std::vector<double> advantages = group_advantages(rewards, rollout.group_size);
  std::vector<GrpoCompletion> batch;
  std::array<double, 1> tokens{0};
  for (size_t i = 0; i < rollouts.size(); ++i) {
    batch.push_back({answer_sequence(mine[rollouts[i].prompt]->prompt, rollouts[i].tokens), advantages[i]});
    tokens[0] += double(batch.back().sequence.ids.size());
  }

  TrainPass pass = learner.trainable.pass();
  pass.lora_dropout = 0.0f;
  r.metrics = grpo_backward(loaded.model, pass, acts, batch, objective.loss, dp.world);
  r.step.sync = sum_gradients(dp);
  RolloutTotals totals = rollout_totals(rollouts, rewards, rollout.group_size, r.warnings.size());
  sum_over_ranks(totals, kRolloutTotals, dp.world);
  add_rollout_metrics(totals, r.metrics);
  sum_over_ranks(tokens, dp.world);
  r.step.tokens = int64_t(tokens[0]);
  r.step.loss = r.metrics.loss;
  apply_update(learner, settings, step, r.step);
  return r;
}

}  // namespace whet
