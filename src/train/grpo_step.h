#pragma once
// One optimiser step of GRPO (online RL with group-relative advantages) on the
// supervised engine: the batch's prompts are sampled group_size times each by
// generate/rollout with the adapter being trained applied live, a grader scores
// every completion, group_advantages turns the scores into advantages, and each
// completion's cross-entropy backward is weighted token by token by
// −d(loss)/d(log π) from grpo_token_loss (train/preference_loss.h).
//
// The loss is the paper's: per completion the mean of its token losses, then the
// mean over the batch's completions. The rollout policy is the current one (one
// inner iteration, TRL's default num_iterations 1), so the ratio is exactly 1
// when the gradient is taken and nothing is clipped; the clip matters only to
// a caller that steps on the same rollouts again. With β > 0 the reference is
// the base with the adapter off (or none for full fine-tuning: β needs LoRA).
#include <cstdint>
#include <span>
#include <vector>

#include "data/prompt_dataset.h"
#include "data/sequences.h"
#include "eval/grader.h"
#include "generate/rollout.h"
#include "train/learner.h"
#include "train/preference_loss.h"
#include "train/train_config.h"
#include "train/train_step.h"

namespace whet {

struct GrpoObjective {
  GrpoSettings loss;       // clip ε and β
  RolloutOptions rollout;  // group size, completion length, sampling
};
GrpoObjective grpo_objective(const TrainConfig& config);

// A sampled completion as training sees it: prompt and completion as one
// sequence whose targets are the completion's tokens, and its advantage.
struct GrpoCompletion {
  TrainingSequence sequence;
  double advantage = 0;
};

// What TRL logs, over a step's completions.
struct GrpoMetrics {
  double loss = 0;
  double reward_mean = 0, reward_std = 0;  // reward_std: the mean over groups of their sample std
  double zero_std_fraction = 0;            // groups whose completions all scored alike (no signal)
  double kl = 0;                           // mean k3 per completion token (measured only when β > 0)
  double clip_fraction = 0;                // completion tokens whose ratio was clipped
  double completion_length = 0;            // mean tokens per completion, end token included
  double ended_fraction = 0;               // completions that ended before max_completion_length
  int64_t grader_warnings = 0;             // samples a grader scored 0 with a warning (a command's timeout)
};

// The gradients of the GRPO loss over `batch`, added (+=) to what `pass` names
// (no dropout: the log-probs measured and moved must be the same network's).
// Old log-probs are the current policy's; the reference's are the base's
// (pass.lora off) and computed only when settings.beta > 0. Fills loss, kl and
// clip_fraction. Data-parallel (`world` given), `batch` is this rank's share of
// the step's completions: the loss is the mean over every rank's, and so are the metrics.
GrpoMetrics grpo_backward(const LlamaModel& model, const TrainPass& pass, LlamaActivations& acts,
                          std::span<const GrpoCompletion> batch, const GrpoSettings& settings,
                          dist::Communicator* world = nullptr);

struct GrpoStepResult {
  StepResult step;
  GrpoMetrics metrics;
  std::vector<std::string> warnings;  // the graders' warnings, for the log
  double rollout_seconds = 0, grade_seconds = 0;  // wall time of generation and of grading; the rest trains
};

// Rollouts of `prompts`, grades, advantages, grpo_backward and apply_update.
// Completion i of the step samples with seed objective.rollout.sampling.seed +
// step·1000003 + i. Data-parallel, `prompts` are the global batch's: each rank
// samples, grades and learns from its share of the prompts (whole groups, so
// the advantages are its own to compute), with the seeds one process would
// use; the gradients and the metrics are summed over the ranks.
GrpoStepResult grpo_step(const LoadedModel& loaded, Learner& learner, LlamaActivations& acts,
                         std::span<const PromptItem* const> prompts, Grader& grader, const StepSettings& settings,
                         const GrpoObjective& objective, int64_t step, const DataParallel& dp = {});

}  // namespace whet
