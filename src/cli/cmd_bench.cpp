// whet bench: throughput of the machine and of Whet on it. Prints a table, or
// one JSON object per line with --json; nothing here is a pass/fail test.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/dtype.h"
#include "core/resource_usage.h"
#include "kernels/gemm.h"
#include "models/memory_estimate.h"

namespace whet::cli {

namespace {

using Clock = std::chrono::steady_clock;

template <typename Fn>
double median_seconds(int repeats, const Fn& fn) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Sustained GEMM throughput of this machine through oneDNN, the denominator of every MFU figure.
struct Peak {
  double f32_gflops = 0, bf16_gflops = 0;
};

Peak measure_peak() {
  const int64_t n = 2048;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto* v : {&a, &b})
    for (float& x : *v) x = u(rng);
  std::vector<uint16_t> a16(a.size()), b16(b.size());
  for (size_t i = 0; i < a.size(); ++i) a16[i] = f32_to_bf16(a[i]), b16[i] = f32_to_bf16(b[i]);
  const GemmShape shape{false, false, n, n, n, n, n, n, 1.0f, 0.0f};
  const double flops = 2.0 * n * n * n;
  gemm_f32(shape, a.data(), b.data(), c.data());
  gemm_bf16(shape, a16.data(), b16.data(), c.data());
  Peak peak;
  peak.f32_gflops = flops / median_seconds(5, [&] { gemm_f32(shape, a.data(), b.data(), c.data()); }) / 1e9;
  peak.bf16_gflops = flops / median_seconds(5, [&] { gemm_bf16(shape, a16.data(), b16.data(), c.data()); }) / 1e9;
  return peak;
}

// Forward FLOPs of one token at `position`: 2 per weight multiply-add, plus attention over the history.
double forward_flops_per_token(const LlamaConfig& c, int64_t position) {
  const double matmul = 2.0 * double(llama_parameter_count(c) - int64_t(c.vocab_size) * c.hidden_size *
                                                                    (c.tie_word_embeddings ? 0 : 1));
  const double attention = 4.0 * double(c.num_layers) * c.num_heads * c.head_dim * double(position + 1);
  return matmul + attention;
}

struct BenchGenerateOptions {
  int prompt_tokens = 512;
  int gen_tokens = 64;
  int repeats = 3;
  bool json = false;
};

void run_bench_generate(const ModelOptions& m, const BenchGenerateOptions& o) {
  const Peak peak = measure_peak();
  const LoadedModel model = m.load();
  const LlamaConfig& c = model.model.config;
  std::vector<int32_t> prompt(o.prompt_tokens);
  std::mt19937 rng(1);
  for (int32_t& t : prompt) t = int32_t(rng() % c.vocab_size);
  std::vector<float> logits;

  double prefill_flops = 0;
  for (int i = 0; i < o.prompt_tokens; ++i) prefill_flops += forward_flops_per_token(c, i);
  KvCache cache(c, o.prompt_tokens + o.gen_tokens + 1);
  const double prefill_s = median_seconds(o.repeats, [&] {
    cache.length = 0;
    llama_forward(model.model, cache, prompt, logits);
  });
  const double decode_s = median_seconds(o.repeats, [&] {
    cache.length = o.prompt_tokens;
    for (int i = 0; i < o.gen_tokens; ++i) {
      const int32_t token[1] = {prompt[i]};
      llama_forward(model.model, cache, token, logits);
    }
  });
  double decode_flops = 0;
  for (int i = 0; i < o.gen_tokens; ++i) decode_flops += forward_flops_per_token(c, o.prompt_tokens + i);
  const bool bf16 = m.weights == "bf16";
  const double peak_gflops = bf16 ? peak.bf16_gflops : peak.f32_gflops;
  const double prefill_tps = o.prompt_tokens / prefill_s, decode_tps = o.gen_tokens / decode_s;
  const double prefill_mfu = prefill_flops / prefill_s / 1e9 / peak_gflops;
  const double decode_mfu = decode_flops / decode_s / 1e9 / peak_gflops;
  if (o.json) {
    nlohmann::json j = {{"bench", "generate"},          {"model", model.path},
                        {"weights", m.weights},         {"threads", omp_get_max_threads()},
                        {"prompt_tokens", o.prompt_tokens}, {"gen_tokens", o.gen_tokens},
                        {"prefill_tokens_per_s", prefill_tps}, {"decode_tokens_per_s", decode_tps},
                        {"prefill_mfu", prefill_mfu},   {"decode_mfu", decode_mfu},
                        {"peak_rss_mb", peak_rss_mib()}, {"peak_f32_gflops", peak.f32_gflops},
                        {"peak_bf16_gflops", peak.bf16_gflops}};
    std::puts(j.dump().c_str());
    return;
  }
  fmt::print("machine peak (oneDNN 2048^3 gemm, {} threads): {:.0f} GFLOP/s f32, {:.0f} GFLOP/s bf16\n",
             omp_get_max_threads(), peak.f32_gflops, peak.bf16_gflops);
  fmt::print("model {} (weights held as {})\n", model.path, m.weights);
  fmt::print("{:<10} {:>8} {:>12} {:>10} {:>8}\n", "phase", "tokens", "tokens/s", "ms/token", "MFU");
  fmt::print("{:<10} {:>8} {:>12.1f} {:>10.2f} {:>7.1f}%\n", "prefill", o.prompt_tokens, prefill_tps,
             1e3 / prefill_tps, 100 * prefill_mfu);
  fmt::print("{:<10} {:>8} {:>12.1f} {:>10.2f} {:>7.1f}%\n", "decode", o.gen_tokens, decode_tps, 1e3 / decode_tps,
             100 * decode_mfu);
  fmt::print("peak RSS {:.0f} MiB\n", peak_rss_mib());
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
  generate->callback([=] { run_bench_generate(*m, *o); });
}

}  // namespace whet::cli
