// `whet bench train --method grpo`: GRPO steps with LoRA on one prompt of
// random ids, as bench/peer_train_grpo.py runs TRL's GRPOTrainer on the same
// ids. The step is the trainer's grpo_step: G completions sampled together with
// the adapter applied live (the prompt run once per group), graded, group
// advantages, each completion's forward and backward weighted by its advantage
// (β 0: no reference pass), clip to 1.0, AdamW.
//
// Every completion is exactly seq/2 tokens: the end tokens are masked until
// then (RolloutOptions::min_tokens, Hugging Face's min_new_tokens, which the
// peer sets), and a step whose completions came out shorter is an error, so
// both engines count the same tokens. tokens/s counts prompt + completion of
// all G rollouts of a step; the step's time splits into generation, grading and
// training (the passes, clip and optimiser). Nothing here is a pass/fail test.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/bench_config.h"
#include "cli/bench_measure.h"
#include "cli/bench_profile.h"
#include "cli/bench_train.h"
#include "core/error.h"
#include "core/resource_usage.h"
#include "eval/grader.h"
#include "train/grpo_step.h"
#include "train/learner.h"

namespace whet::cli {

namespace {

// The benchmark's reward: bytes of a completion's text per completion token
// (the peer's reward function computes the same). Cheap, so the grader is not
// what is measured, and continuous, so a group's completions score apart: a
// completion whose advantage is 0 would skip its backward in Whet, where TRL's
// loss still runs it.
class BytesPerToken : public Grader {
 public:
  Grade grade(const GradeInput& input) override {
    return {double(input.output_text.size()) / double(std::max<size_t>(input.output_tokens.size(), 1)), {}};
  }
};

// Model FLOPs of one step: the rollouts' forwards (the prompt once, then each
// completion's tokens but its last, which is sampled and never run), and each
// completion's training pass on its sequence (prompt + completion − 1 positions).
double grpo_flops_per_step(const LlamaConfig& c, double adapter_params, int prompt, int completion, int group) {
  double flops = 0;
  for (int i = 0; i < prompt; ++i) flops += forward_flops_per_token(c, i, i + 1 == prompt);
  for (int i = 0; i + 1 < completion; ++i) flops += group * forward_flops_per_token(c, prompt + i, true);
  return flops + group * train_flops_per_step(c, true, adapter_params, prompt + completion - 1);
}

struct StepTimes {
  double step_s = 0, rollout_s = 0, grade_s = 0;
};

// The measured step of median length, whose parts add up to it.
StepTimes median_step(std::vector<StepTimes> times) {
  std::sort(times.begin(), times.end(), [](const StepTimes& a, const StepTimes& b) { return a.step_s < b.step_s; });
  return times[times.size() / 2];
}

void print_grpo_table(const ModelOptions& m, const BenchTrainOptions& o, const TrainReport& r, const StepTimes& t,
                      int prompt_len, int completion_len, const GrpoMetrics& first, const GrpoMetrics& last) {
  print_peak_header(machine_peak());
  fmt::print("{}; a step counts its rollouts' forwards and each completion's training pass\n", kTrainFlopsFormula);
  fmt::print("model {}; GRPO (beta 0, one iteration) with LoRA r={} all-linear, {:.2f} M trainable parameters; "
             "base weights held as {}\n",
             r.model_path, o.lora_r, double(r.trainable_params) / 1e6, m.weights);
  fmt::print("one prompt of {} tokens per step, {} completions of {} tokens each (end tokens masked), "
             "reward = bytes per token; median of {} after {} warm-up\n",
             prompt_len, o.num_generations, completion_len, o.steps, o.warmup);
  fmt::print("{:<8} {:>6} {:>10} {:>10} {:>10} {:>10} {:>8} {:>10} {:>13}\n", "method", "tokens", "ms/step",
             "rollout ms", "train ms", "tokens/s", "MFU", "peak RSS", "reward");
  fmt::print("{:<8} {:>6} {:>10.0f} {:>10.0f} {:>10.0f} {:>10.1f} {:>7.1f}% {:>6.0f} MiB {:>5.2f}->{:.2f}\n", "grpo",
             o.num_generations * (prompt_len + completion_len), 1e3 * t.step_s, 1e3 * t.rollout_s,
             1e3 * (t.step_s - t.rollout_s - t.grade_s), r.tokens_per_s, 100 * r.mfu, r.peak_rss_mib,
             first.reward_mean, last.reward_mean);
}

}  // namespace

void run_bench_train_grpo(const ModelOptions& m, const BenchTrainOptions& o) {
  if (o.seq < 2) fail("whet bench train", "--method grpo needs --seq of at least 2 (a prompt and a completion)");
  const int prompt_len = o.seq / 2, completion_len = o.seq - prompt_len;
  LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  TrainConfig config = bench_train_config(TrainMethod::Lora, o.lora_r, "grpo");
  config.num_generations = o.num_generations;
  config.max_completion_length = completion_len;
  Learner learner = make_learner(model, config, 0);
  int64_t trainable_params = 0;
  for (const Parameter& p : learner.trainable.parameters) trainable_params += p.numel;
  LlamaActivations acts(c, o.seq, o.lora_r, checkpointed_blocks(o));
  const StepSettings settings = step_settings(config, o.warmup + o.steps);
  GrpoObjective objective = grpo_objective(config);
  objective.rollout.min_tokens = completion_len;

  const PromptItem prompt{"bench prompt", random_prompt(prompt_len, c.vocab_size), nlohmann::json::object()};
  const PromptItem* const prompts[] = {&prompt};
  BytesPerToken grader;
  std::vector<GrpoMetrics> metrics;
  std::vector<StepTimes> times;
  double measured_s = 0;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    if (o.profile && i == o.warmup) start_step_profile();
    const auto start = std::chrono::steady_clock::now();
    const GrpoStepResult r = grpo_step(model, learner, acts, prompts, grader, settings, objective, i);
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r.metrics.ended_fraction > 0)  // every other completion ran to max_completion_length
      fail("whet bench train", "--method grpo: {:.0f}% of step {}'s completions ended before {} tokens (a stop "
           "string formed from sampled tokens); try another --seq", 100 * r.metrics.ended_fraction, i, completion_len);
    metrics.push_back(r.metrics);
    if (i >= o.warmup) times.push_back({step_s, r.rollout_seconds, r.grade_seconds}), measured_s += step_s;
  }
  const StepProfile profile = o.profile ? finish_step_profile(o.steps, measured_s) : StepProfile{};

  const StepTimes t = median_step(times);
  const double rss_mib = peak_rss_mib();
  const int step_tokens = o.num_generations * (prompt_len + completion_len);
  const double flops = grpo_flops_per_step(c, double(trainable_params), prompt_len, completion_len, o.num_generations);
  const TrainReport report{model.path, trainable_params, t.step_s, step_tokens / t.step_s,
                           flops / t.step_s / 1e9 / machine_peak().gflops(m.weights), rss_mib};
  if (!o.json) {
    print_grpo_table(m, o, report, t, prompt_len, completion_len, metrics.front(), metrics.back());
    if (o.profile) print_step_profile(profile);
    return;
  }
  nlohmann::json j = train_report_json(m, o, report);
  j.update({{"prompt_tokens", prompt_len}, {"completion_tokens", completion_len},
            {"num_generations", o.num_generations}, {"step_tokens", step_tokens}, {"lora_r", o.lora_r},
            {"rollout_ms", 1e3 * t.rollout_s}, {"grade_ms", 1e3 * t.grade_s},
            {"train_ms", 1e3 * (t.step_s - t.rollout_s - t.grade_s)}, {"first_loss", metrics.front().loss},
            {"last_loss", metrics.back().loss}, {"first_reward", metrics.front().reward_mean},
            {"last_reward", metrics.back().reward_mean}});
  if (o.profile) j["profile"] = step_profile_json(profile);
  std::puts(j.dump().c_str());
}

}  // namespace whet::cli
