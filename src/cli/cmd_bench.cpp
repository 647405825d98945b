// whet bench: throughput of the machine and of Whet on it, for generation (one
// sequence, or several decoding together) and for training steps, with MFU
// against one measured machine peak. Prints a table, or one JSON object per line
// with --json; nothing here is a pass/fail test.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/bench_config.h"
#include "cli/bench_measure.h"
#include "cli/bench_profile.h"
#include "cli/bench_train.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/cpu_features.h"
#include "core/resource_usage.h"
#include "data/tokenize_preference.h"
#include "kernels/row_max.h"
#include "models/llama_train.h"
#include "models/lora_adapter.h"
#include "train/learner.h"
#include "train/preference_step.h"
#include "train/train_step.h"

namespace whet::cli {

std::vector<int32_t> random_prompt(int n, int32_t vocab) {
  std::vector<int32_t> prompt(n);
  std::mt19937 rng(1);
  for (int32_t& t : prompt) t = int32_t(rng() % vocab);
  return prompt;
}

nlohmann::json train_report_json(const ModelOptions& m, const BenchTrainOptions& o, const TrainReport& r) {
  const Peak& peak = machine_peak();
  return {{"bench", "train"},          {"engine", "whet"},
          {"model", r.model_path},     {"method", o.method},
          {"weights", m.weights},      {"seq", o.seq},
          {"steps", o.steps},          {"warmup", o.warmup},
          {"threads", omp_get_max_threads()}, {"trainable_params", r.trainable_params},
          {"ms_per_step", 1e3 * r.step_s}, {"tokens_per_s", r.tokens_per_s},
          {"mfu", r.mfu},              {"peak_rss_mb", r.peak_rss_mib},
          {"gradient_checkpointing", o.gradient_checkpointing},
          {"peak_f32_gflops", peak.f32_gflops}, {"peak_bf16_gflops", peak.bf16_gflops},
          {"machine", cpu_description()}};
}

int checkpointed_blocks(const BenchTrainOptions& o) {
  if (o.gradient_checkpointing == "true") return kEveryBlock;
  if (o.gradient_checkpointing == "false") return 0;
  return std::stoi(o.gradient_checkpointing);  // digits, as the option's check let through
}

namespace {

// Greedy choice from one row of logits.
int32_t argmax(const float* logits, int64_t vocab) {
  return int32_t(index_of_max(logits, vocab));
}

struct BenchGenerateOptions {
  int prompt_tokens = 512;
  int gen_tokens = 64;
  int repeats = 3;
  bool json = false;
  bool profile = false;  // time by phase of each batch size's decode steps (cli/bench_profile.h)
  DType kv_cache_dtype = DType::F16;
};

void run_bench_generate(const ModelOptions& m, const BenchGenerateOptions& o) {
  const LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  const std::vector<int32_t> prompt = random_prompt(o.prompt_tokens, c.vocab_size);
  std::vector<float> logits;

  double prefill_flops = 0;
  for (int i = 0; i < o.prompt_tokens; ++i) prefill_flops += forward_flops_per_token(c, i, i + 1 == o.prompt_tokens);
  KvCache cache(c, o.prompt_tokens + o.gen_tokens + 1, o.kv_cache_dtype);
  const double prefill_s = median_seconds(o.repeats, [&] {
    cache.length = 0;
    llama_forward(model.model, cache, prompt, logits);
  });
  const std::vector<float> prompt_logits = logits;
  const double decode_s = median_seconds(o.repeats, [&] {
    // Greedy decoding after the prompt, as a chat turn would run.
    cache.length = o.prompt_tokens;
    logits = prompt_logits;
    for (int i = 0; i < o.gen_tokens; ++i) {
      const int32_t token[1] = {argmax(logits.data(), c.vocab_size)};
      llama_forward(model.model, cache, token, logits);
    }
  });
  double decode_flops = 0;
  for (int i = 0; i < o.gen_tokens; ++i) decode_flops += forward_flops_per_token(c, o.prompt_tokens + i, true);
  const double rss_mib = peak_rss_mib();
  const Peak& peak = machine_peak();
  const double peak_gflops = peak.gflops(m.weights);
  const double prefill_tps = o.prompt_tokens / prefill_s, decode_tps = o.gen_tokens / decode_s;
  const double prefill_mfu = prefill_flops / prefill_s / 1e9 / peak_gflops;
  const double decode_mfu = decode_flops / decode_s / 1e9 / peak_gflops;
  if (o.json) {
    nlohmann::json j = {{"bench", "generate"},          {"model", model.path},
                        {"weights", m.weights},         {"threads", omp_get_max_threads()},
                        {"kv_cache_dtype", dtype_name(o.kv_cache_dtype)},
                        {"prompt_tokens", o.prompt_tokens}, {"gen_tokens", o.gen_tokens},
                        {"prefill_tokens_per_s", prefill_tps}, {"decode_tokens_per_s", decode_tps},
                        {"prefill_mfu", prefill_mfu},   {"decode_mfu", decode_mfu},
                        {"peak_rss_mb", rss_mib},       {"peak_f32_gflops", peak.f32_gflops},
                        {"peak_bf16_gflops", peak.bf16_gflops}};
    std::puts(j.dump().c_str());
    return;
  }
  print_peak_header(peak);
  fmt::print("model {} (weights held as {}, KV cache {})\n", model.path, m.weights, dtype_name(o.kv_cache_dtype));
  fmt::print("{:<10} {:>8} {:>12} {:>10} {:>8}\n", "phase", "tokens", "tokens/s", "ms/token", "MFU");
  fmt::print("{:<10} {:>8} {:>12.1f} {:>10.2f} {:>7.1f}%\n", "prefill", o.prompt_tokens, prefill_tps,
             1e3 / prefill_tps, 100 * prefill_mfu);
  fmt::print("{:<10} {:>8} {:>12.1f} {:>10.2f} {:>7.1f}%\n", "decode", o.gen_tokens, decode_tps, 1e3 / decode_tps,
             100 * decode_mfu);
  fmt::print("peak RSS {:.0f} MiB\n", rss_mib);
}

struct BenchBatchOptions {
  std::vector<int> batch_sizes = {1, 2, 4, 8, 16};
  int context = 128;
  int steps = 16;
  int repeats = 3;
  bool json = false;
  bool profile = false;  // time by phase of each batch size's decode steps (cli/bench_profile.h)
  DType kv_cache_dtype = DType::F16;
};

// Decode steps of several sequences stepped together (a server's continuous
// batching): each step runs one new token of every sequence through the weights
// in one llama_forward_batch. Every sequence starts from the same `context`
// tokens of history (one prefill, copied), so attention costs the same for all.
void run_bench_batch(const ModelOptions& m, const BenchBatchOptions& o) {
  const LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  const std::vector<int32_t> prompt = random_prompt(o.context, c.vocab_size);
  KvCache prefilled(c, o.context + o.steps, o.kv_cache_dtype);
  std::vector<float> prompt_logits;
  llama_forward(model.model, prefilled, prompt, prompt_logits, false, model.adapter.get());

  if (!o.json) {
    fmt::print("model {} (weights held as {}, KV cache {}), {} threads; {} tokens of history per sequence, {} decode "
               "steps, median of {}\n",
               model.path, m.weights, dtype_name(o.kv_cache_dtype), omp_get_max_threads(), o.context, o.steps,
               o.repeats);
    fmt::print("{:>6} {:>10} {:>10} {:>16}\n", "batch", "tokens/s", "ms/step", "tokens/s per seq");
  }
  for (const int n : o.batch_sizes) {
    std::vector<KvCache> caches(size_t(n), prefilled);
    std::vector<int32_t> next(static_cast<size_t>(n));
    std::vector<float> logits;
    StepProfile profile;
    const double run_s = median_seconds_profiled(o.repeats, o.profile, [&] {
      // Greedy decoding of every sequence from the end of its history.
      for (KvCache& cache : caches) cache.length = o.context;
      std::fill(next.begin(), next.end(), argmax(prompt_logits.data(), c.vocab_size));
      for (int step = 0; step < o.steps; ++step) {
        std::vector<BatchSequence> batch;
        for (int i = 0; i < n; ++i) batch.push_back({&caches[i], std::span(&next[i], 1)});
        llama_forward_batch(model.model, batch, logits, model.adapter.get());
        for (int i = 0; i < n; ++i) next[i] = argmax(logits.data() + int64_t(i) * c.vocab_size, c.vocab_size);
      }
    }, profile);
    profile.steps *= o.steps;  // per decode step
    const double step_ms = 1e3 * run_s / o.steps, tokens_per_s = double(n) * o.steps / run_s;
    if (o.json) {
      nlohmann::json j = {{"bench", "batch"}, {"model", model.path}, {"weights", m.weights},
                                {"kv_cache_dtype", dtype_name(o.kv_cache_dtype)},
                                {"threads", omp_get_max_threads()}, {"context", o.context}, {"steps", o.steps},
                                {"batch", n}, {"tokens_per_s", tokens_per_s}, {"ms_per_step", step_ms}};
      if (o.profile) j["profile"] = step_profile_json(profile);
      std::puts(j.dump().c_str());
    } else {
      fmt::print("{:>6} {:>10.1f} {:>10.2f} {:>16.1f}\n", n, tokens_per_s, step_ms, tokens_per_s / n);
      if (o.profile) print_step_profile(profile);
    }
  }
}

// `--method dpo`: DPO steps with LoRA on one pair of random ids, a prompt of
// seq/2 tokens and two answers of seq/2 tokens each (the prompt as long as an
// answer), as bench/peer_train_dpo.py runs TRL's DPOTrainer on the same ids.
// The step is the trainer's preference_step (each answer's forward and
// backward, sigmoid loss, β 0.1, no RPO term, clip to 1.0, AdamW); the
// reference log-probs (the base, adapter off) are computed once before, as the
// trainer does and as TRL's precompute_ref_log_probs does. tokens/s counts the
// pair's tokens with the prompt once (prompt + chosen + rejected); FLOPs count
// each answer's sequence, prompt included, as `--method lora` counts one sequence.
// (`--method grpo`, online RL with rollouts, is its sibling in cmd_bench_grpo.cpp.)
void run_bench_train_dpo(const ModelOptions& m, const BenchTrainOptions& o) {
  if (o.seq < 4) fail("whet bench train", "--method dpo needs --seq of at least 4 (a prompt and an answer)");
  LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  const TrainConfig config = bench_train_config(TrainMethod::Lora, o.lora_r, "dpo");
  Learner learner = make_learner(model, config, 0);
  int64_t trainable_params = 0;
  for (const Parameter& p : learner.trainable.parameters) trainable_params += p.numel;
  LlamaActivations acts(c, o.seq, o.lora_r, checkpointed_blocks(o));
  const StepSettings settings = step_settings(config, o.warmup + o.steps);

  // Ids drawn in the peer's order (prompt, chosen, rejected) from the generator it shares.
  const int prompt_len = o.seq / 2, answer_len = o.seq - prompt_len;
  std::mt19937 rng(1);
  auto draw = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& t : ids) t = int32_t(rng() % c.vocab_size);
    return ids;
  };
  const std::vector<int32_t> prompt = draw(prompt_len);
  const std::vector<int32_t> chosen = draw(answer_len);
  const std::vector<int32_t> rejected = draw(answer_len);
  const std::vector<PreferenceSequences> pairs = {{answer_sequence(prompt, chosen), answer_sequence(prompt, rejected)}};
  const std::vector<ReferencedPair> referenced = reference_logps(model.model, acts, pairs);
  const PreferenceObjective objective = preference_objective(config);

  std::vector<PreferenceStepResult> results;
  auto step = [&] {
    results.push_back(preference_step(model, learner, acts, referenced, settings, objective, int64_t(results.size())));
  };
  for (int i = 0; i < o.warmup; ++i) step();
  StepProfile profile;
  const double step_s = median_seconds_profiled(o.steps, o.profile, step, profile);

  const double rss_mib = peak_rss_mib();
  const Peak& peak = machine_peak();
  const int pair_tokens = prompt_len + 2 * answer_len;
  const double tokens_per_s = pair_tokens / step_s;
  const double flops = 2 * train_flops_per_step(c, true, double(trainable_params), o.seq);
  const double mfu = flops / step_s / 1e9 / peak.gflops(m.weights);
  const PreferenceMetrics& first = results.front().metrics;
  const PreferenceMetrics& last = results.back().metrics;
  if (o.json) {
    nlohmann::json j = train_report_json(m, o, {model.path, trainable_params, step_s, tokens_per_s, mfu, rss_mib});
    j.update({{"prompt_tokens", prompt_len}, {"answer_tokens", answer_len}, {"pair_tokens", pair_tokens},
              {"lora_r", o.lora_r}, {"first_loss", first.loss}, {"last_loss", last.loss},
              {"first_logp_chosen", first.logp_chosen}, {"last_margin", last.margin}});
    if (o.profile) j["profile"] = step_profile_json(profile);
    std::puts(j.dump().c_str());
    return;
  }
  print_peak_header(peak);
  fmt::print("{}; a pair counts its two sequences\n", kTrainFlopsFormula);
  fmt::print("model {}; DPO (sigmoid, beta 0.1) with LoRA r={} all-linear, {:.2f} M trainable parameters; "
             "base weights held as {}\n",
             model.path, o.lora_r, double(trainable_params) / 1e6, m.weights);
  fmt::print("one pair per step: prompt {} + chosen {} + rejected {} tokens; reference log-probs computed once before; "
             "median of {} after {} warm-up\n",
             prompt_len, answer_len, answer_len, o.steps, o.warmup);
  fmt::print("{:<8} {:>6} {:>10} {:>10} {:>8} {:>10} {:>15}\n", "method", "tokens", "ms/step", "tokens/s", "MFU",
             "peak RSS", "loss");
  fmt::print("{:<8} {:>6} {:>10.0f} {:>10.1f} {:>7.1f}% {:>6.0f} MiB {:>7.4f}->{:.4f}\n", "dpo", pair_tokens,
             1e3 * step_s, tokens_per_s, 100 * mfu, rss_mib, first.loss, last.loss);
  if (o.profile) print_step_profile(profile);
}

void run_bench_train(ModelOptions m, const BenchTrainOptions& o) {
  if (o.method == "dpo") return run_bench_train_dpo(m, o);
  if (o.method == "grpo") return run_bench_train_grpo(m, o);
  const bool lora = o.method == "lora";
  // Full fine-tuning trains f32 masters (the optimiser writes them in place);
  // --weights bf16 multiplies a bf16 copy of them, as the trainer's weights: bf16.
  const std::string multiplies = lora ? m.weights : m.weights == "bf16" ? "bf16" : "f32";
  if (!lora) m.weights = "f32";
  LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  if (!lora) own_trainable_weights(model);

  // The trainer's own construction and step (train_step), so the step measured is the trainer's.
  TrainConfig config = bench_train_config(lora ? TrainMethod::Lora : TrainMethod::Full, o.lora_r);
  config.weights = multiplies;
  Learner learner = make_learner(model, config, 0);
  int64_t trainable_params = 0;
  for (const Parameter& p : learner.trainable.parameters) trainable_params += p.numel;
  LlamaActivations acts(c, o.seq, lora ? o.lora_r : 0, checkpointed_blocks(o));
  const StepSettings settings = step_settings(config, o.warmup + o.steps);

  // One packed segment of random ids; every position predicts the next id.
  std::vector<int32_t> tokens(size_t(o.seq) + 1);
  std::mt19937 rng(1);
  for (int32_t& t : tokens) t = int32_t(rng() % c.vocab_size);
  TrainingSequence sequence;
  sequence.ids.assign(tokens.begin(), tokens.end() - 1);
  sequence.targets.assign(tokens.begin() + 1, tokens.end());
  sequence.segment_begin.assign(size_t(o.seq), 0);
  for (int i = 0; i < o.seq; ++i) sequence.positions.push_back(i);
  const TrainingSequence* const batch[] = {&sequence};

  std::vector<double> losses;
  auto step = [&] {
    losses.push_back(train_step(model, learner, acts, batch, settings, int64_t(losses.size())).loss);
  };
  for (int i = 0; i < o.warmup; ++i) step();
  StepProfile profile;
  const double step_s = median_seconds_profiled(o.steps, o.profile, step, profile);

  const double rss_mib = peak_rss_mib();
  const Peak& peak = machine_peak();
  const double tokens_per_s = o.seq / step_s;
  const double mfu = train_flops_per_step(c, lora, lora ? double(trainable_params) : 0, o.seq) / step_s / 1e9 /
                     peak.gflops(multiplies);
  if (o.json) {
    nlohmann::json j = train_report_json(m, o, {model.path, trainable_params, step_s, tokens_per_s, mfu, rss_mib});
    j.update({{"first_loss", losses.front()}, {"last_loss", losses.back()}});
    if (lora) j["lora_r"] = o.lora_r;
    if (!lora) j["multiplies"] = multiplies;  // "weights" is the masters' f32
    if (o.profile) j["profile"] = step_profile_json(profile);
    std::puts(j.dump().c_str());
    return;
  }
  print_peak_header(peak);
  fmt::print("{}\n", kTrainFlopsFormula);
  fmt::print("model {}; {} with {:.2f} M trainable parameters; base weights held as {}\n", model.path,
             lora ? fmt::format("LoRA r={} all-linear", o.lora_r) : std::string("full fine-tuning"),
             double(trainable_params) / 1e6, lora ? m.weights : "f32 masters multiplied as " + multiplies);
  fmt::print("one step = forward + backward + clip to 1.0 + AdamW + zero grad; median of {} after {} warm-up; "
             "{} of {} blocks checkpointed\n",
             o.steps, o.warmup, acts.checkpointed_blocks, c.num_layers);
  fmt::print("{:<8} {:>6} {:>10} {:>10} {:>8} {:>10} {:>11}\n", "method", "seq", "ms/step", "tokens/s", "MFU",
             "peak RSS", "loss");
  fmt::print("{:<8} {:>6} {:>10.0f} {:>10.1f} {:>7.1f}% {:>6.0f} MiB {:>5.2f}->{:.2f}\n", o.method, o.seq,
             1e3 * step_s, tokens_per_s, 100 * mfu, rss_mib, losses.front(), losses.back());
  if (o.profile) print_step_profile(profile);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure throughput (tokens/s, MFU, peak RSS)");
  bench->require_subcommand(1);
  auto* generate = bench->add_subcommand("generate", "Prefill and decode speed on a fixed random prompt");
  auto m = std::make_shared<ModelOptions>();
  auto o = std::make_shared<BenchGenerateOptions>();
  m->add_to(*generate);
  generate->add_option("--prompt-tokens", o->prompt_tokens, "Prompt length")->capture_default_str();
  generate->add_option("--gen-tokens", o->gen_tokens, "Tokens decoded after the prompt")->capture_default_str();
  generate->add_option("--repeats", o->repeats, "Repetitions; the median is reported")->capture_default_str();
  generate->add_flag("--json", o->json, "One JSON object per line instead of a table");
  add_kv_cache_option(*generate, o->kv_cache_dtype);
  generate->callback([=] { run_bench_generate(*m, *o); });

  auto* batch = bench->add_subcommand("batch", "Decode speed of several sequences stepped together, per batch size");
  auto bm = std::make_shared<ModelOptions>();
  auto bo = std::make_shared<BenchBatchOptions>();
  bm->add_to(*batch);
  batch->add_option("--batch", bo->batch_sizes, "Batch sizes (sequences decoding together), one row each")
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  batch->add_option("--context", bo->context, "Tokens of history in every sequence's cache")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  batch->add_option("--steps", bo->steps, "Decode steps per measurement")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  batch->add_option("--repeats", bo->repeats, "Repetitions; the median is reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  batch->add_flag("--json", bo->json, "One JSON object per line instead of a table");
  add_kv_cache_option(*batch, bo->kv_cache_dtype);
  batch->add_flag("--profile", bo->profile, kProfileFlagHelp);
  batch->callback([=] { run_bench_batch(*bm, *bo); });

  auto* train = bench->add_subcommand("train", "Training step speed (LoRA, full, DPO or GRPO) on fixed random ids");
  auto tm = std::make_shared<ModelOptions>();
  auto to = std::make_shared<BenchTrainOptions>();
  tm->add_to(*train);
  train->add_option("--method", to->method,
                    "lora (frozen base held as --weights), full (f32 masters, multiplied as bf16 with --weights bf16, else f32), dpo (LoRA, one pair of prompt and "
                    "two answers, each seq/2 tokens) or grpo (LoRA, one prompt of seq/2 tokens and G sampled "
                    "completions of seq/2 tokens each, end tokens masked, scored by their bytes per token)")
      ->check(CLI::IsMember({"lora", "full", "dpo", "grpo"}))
      ->capture_default_str();
  train
      ->add_option("--seq", to->seq,
                   "Tokens in the training sequence (dpo: prompt + one answer; grpo: prompt + one completion)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--num-generations", to->num_generations, "grpo: completions sampled per prompt (G)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--steps", to->steps, "Measured steps; the median is reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--warmup", to->warmup, "Steps run before measuring")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--lora-r", to->lora_r, "LoRA rank (alpha = 2r, dropout 0, all 7 projections)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train
      ->add_option("--gradient-checkpointing", to->gradient_checkpointing,
                   "Activation checkpointing of whole blocks, as the train config's gradient_checkpointing: "
                   "true (every block), false, or a number of blocks (the first ones)")
      ->check([](const std::string& v) {
        const bool blocks = !v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), ::isdigit);
        return v == "true" || v == "false" || blocks ? std::string()
                                                     : "--gradient-checkpointing: true, false or a number of blocks, not " + v;
      })
      ->capture_default_str();
  train->add_flag("--json", to->json, "One JSON object per line instead of a table");
  train->add_flag("--profile", to->profile, kProfileFlagHelp);
  train->callback([=] { run_bench_train(*tm, *to); });

  add_bench_preference_command(*bench);
}

}  // namespace whet::cli
