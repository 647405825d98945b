// whet bench preference: the cost of a preference (DPO) step with LoRA when a
// pair's prompt is encoded once (one shared-prompt sequence) or twice (each
// answer in a sequence of its own), and of a supervised LoRA step on the same
// activation buffer, for the peak RSS it takes. One encoding per process, so
// that each peak RSS is its own; bench/run_preference.sh runs them all. Nothing
// here is a pass/fail test.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/bench_config.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/resource_usage.h"
#include "data/tokenize_preference.h"
#include "models/lora_adapter.h"
#include "train/learner.h"
#include "train/preference_step.h"
#include "train/shared_prompt.h"
#include "train/train_step.h"

namespace whet::cli {

namespace {

struct BenchPreferenceOptions {
  std::string encoding = "shared";  // shared | separate | sft
  int prompt = 128, answer = 128;   // tokens; both answers of a pair are `answer` long
  int pairs = 2;                    // pairs per step
  int rows = 0;                     // activation rows; 0: what a pair needs to share its prompt
  int steps = 3, warmup = 1, lora_r = 16;
  bool json = false;
};

std::vector<int32_t> random_tokens(std::mt19937& rng, int n, int32_t vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& t : ids) t = int32_t(rng() % uint32_t(vocab));
  return ids;
}

// Pairs of random tokens: a prompt and two answers as long as each other.
std::vector<PreferenceSequences> random_pairs(const BenchPreferenceOptions& o, int32_t vocab) {
  std::mt19937 rng(1);
  std::vector<PreferenceSequences> pairs;
  for (int i = 0; i < o.pairs; ++i) {
    const std::vector<int32_t> prompt = random_tokens(rng, o.prompt, vocab);
    pairs.push_back({answer_sequence(prompt, random_tokens(rng, o.answer, vocab)),
                     answer_sequence(prompt, random_tokens(rng, o.answer, vocab))});
  }
  return pairs;
}

// One packed sequence of `rows` random tokens, every position with a target: the supervised step.
TrainingSequence random_sequence(int rows, int32_t vocab) {
  std::mt19937 rng(2);
  const std::vector<int32_t> tokens = random_tokens(rng, rows + 1, vocab);
  TrainingSequence s;
  s.ids.assign(tokens.begin(), tokens.end() - 1);
  s.targets.assign(tokens.begin() + 1, tokens.end());
  s.segment_begin.assign(size_t(rows), 0);
  for (int i = 0; i < rows; ++i) s.positions.push_back(i);
  return s;
}

// Medians of the measured steps. The processor time (all threads) is the
// steadier figure on a machine shared with other work: with one thread it is
// the step's work, whatever else runs.
struct Timing {
  double step_s = 0, cpu_s = 0;
  int64_t tokens = 0;   // per step: a pair's prompt once and both answers; the sequence for sft
  double first_loss = 0, last_loss = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Step>
Timing time_steps(const BenchPreferenceOptions& o, const Step& step) {
  std::vector<double> seconds, cpu_seconds, losses;
  int64_t tokens = 0;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    const StepResult r = step(int64_t(i));
    if (i >= o.warmup) {
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cpu_seconds.push_back(process_cpu_seconds() - cpu_start);
    }
    losses.push_back(r.loss);
    tokens = r.tokens;
  }
  return {median(seconds), median(cpu_seconds), tokens, losses.front(), losses.back()};
}

void run_bench_preference(const ModelOptions& m, const BenchPreferenceOptions& o) {
  LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  const TrainConfig config = bench_train_config(TrainMethod::Lora, o.lora_r, "dpo");
  Learner learner = make_learner(model, config, 0);
  const StepSettings settings = step_settings(config, o.warmup + o.steps);
  const std::vector<PreferenceSequences> pairs = random_pairs(o, c.vocab_size);
  const int rows = o.rows > 0 ? o.rows : int(shared_prompt_rows(pairs[0].chosen, pairs[0].rejected));
  LlamaActivations acts(c, rows, o.lora_r);

  Timing t;
  if (o.encoding == "sft") {
    const TrainingSequence sequence = random_sequence(rows, c.vocab_size);
    const TrainingSequence* const batch[] = {&sequence};
    t = time_steps(o, [&](int64_t step) { return train_step(model, learner, acts, batch, settings, step); });
  } else {
    // The reference comes first, as in a run: the base with the adapter off, in the same buffer.
    const std::vector<ReferencedPair> referenced = reference_logps(model.model, acts, pairs);
    PreferenceObjective objective = preference_objective(config);
    objective.share_prompt = o.encoding == "shared";
    t = time_steps(o, [&](int64_t step) {
      return preference_step(model, learner, acts, referenced, settings, objective, step).step;
    });
  }
  const double rss_mib = peak_rss_mib(), tokens_per_s = double(t.tokens) / t.step_s;
  if (o.json) {
    nlohmann::json j = {{"bench", "preference"}, {"model", model.path},     {"weights", m.weights},
                        {"encoding", o.encoding}, {"prompt", o.prompt},      {"answer", o.answer},
                        {"pairs", o.pairs},       {"rows", rows},            {"lora_r", o.lora_r},
                        {"steps", o.steps},       {"warmup", o.warmup},      {"threads", omp_get_max_threads()},
                        {"tokens_per_step", t.tokens}, {"ms_per_step", 1e3 * t.step_s},
                        {"tokens_per_s", tokens_per_s}, {"cpu_ms_per_step", 1e3 * t.cpu_s},
                        {"tokens_per_cpu_s", double(t.tokens) / t.cpu_s}, {"peak_rss_mb", rss_mib},
                        {"first_loss", t.first_loss},   {"last_loss", t.last_loss}};
    std::puts(j.dump().c_str());
    return;
  }
  fmt::print("model {} ({} weights); LoRA r={} all-linear; activations for {} rows\n", model.path, m.weights,
             o.lora_r, rows);
  fmt::print("{}: {}; median of {} steps after {} warm-up\n", o.encoding,
             o.encoding == "sft" ? fmt::format("one sequence of {} tokens per step", rows)
                                 : fmt::format("{} pairs per step, prompt {} and answers {} tokens (DPO)", o.pairs,
                                               o.prompt, o.answer),
             o.steps, o.warmup);
  fmt::print("{:<9} {:>10} {:>10} {:>10} {:>13} {:>11}\n", "encoding", "tokens", "ms/step", "tokens/s",
             "tokens/CPU-s", "peak RSS");
  fmt::print("{:<9} {:>10} {:>10.0f} {:>10.1f} {:>13.1f} {:>7.0f} MiB\n", o.encoding, t.tokens, 1e3 * t.step_s,
             tokens_per_s, double(t.tokens) / t.cpu_s, rss_mib);
}

}  // namespace

void add_bench_preference_command(CLI::App& bench) {
  auto* preference = bench.add_subcommand(
      "preference", "DPO step speed with LoRA, a pair's prompt encoded once or twice, against a supervised step");
  auto m = std::make_shared<ModelOptions>();
  auto o = std::make_shared<BenchPreferenceOptions>();
  m->add_to(*preference);
  preference
      ->add_option("--encoding", o->encoding,
                   "shared (the prompt once), separate (each answer with its own copy) or sft (a supervised step)")
      ->check(CLI::IsMember({"shared", "separate", "sft"}))
      ->capture_default_str();
  preference->add_option("--prompt", o->prompt, "Prompt tokens")->check(CLI::PositiveNumber)->capture_default_str();
  preference->add_option("--answer", o->answer, "Tokens of each answer")->check(CLI::PositiveNumber)->capture_default_str();
  preference->add_option("--pairs", o->pairs, "Pairs per step")->check(CLI::PositiveNumber)->capture_default_str();
  preference
      ->add_option("--rows", o->rows,
                   "Activation rows, the sft sequence's length too (0: prompt + 2 x answer - 1, what sharing needs)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  preference->add_option("--steps", o->steps, "Measured steps; the median is reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  preference->add_option("--warmup", o->warmup, "Steps run before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  preference->add_option("--lora-r", o->lora_r, "LoRA rank (alpha = 2r, dropout 0, all 7 projections)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  preference->add_flag("--json", o->json, "One JSON object instead of a table");
  preference->callback([=] { run_bench_preference(*m, *o); });
}

}  // namespace whet::cli
