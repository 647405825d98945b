#include "cli/bench_measure.h"

#include <fmt/format.h>
#include <omp.h>

#include <random>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/gemm.h"
#include "models/lora_adapter.h"

namespace whet::cli {

namespace {

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

// Weights that multiply activations: the seven projections of every block and the LM
// head (tied or not). Norms are elementwise and the embedding is a lookup.
double matmul_parameters(const LlamaConfig& c) {
  double per_layer = 0;
  for (int p = 0; p < kProjections; ++p) {
    const auto [out, in] = projection_shape(c, Projection(p));
    per_layer += double(out) * double(in);
  }
  return per_layer * c.num_layers + double(c.vocab_size) * c.hidden_size;
}

// Multiply-adds of q·k and p·v for one query over `keys` keys, per layer and head, as FLOPs.
double attention_flops(const LlamaConfig& c, double keys) {
  return 4.0 * double(c.num_layers) * c.num_heads * c.head_dim * keys;
}

}  // namespace

const Peak& machine_peak() {
  static const Peak peak = measure_peak();
  return peak;
}

void print_peak_header(const Peak& peak) {
  fmt::print("machine {}\n", cpu_description());
  fmt::print("machine peak (oneDNN 2048^3 gemm, {} threads): {:.0f} GFLOP/s f32, {:.0f} GFLOP/s bf16\n",
             omp_get_max_threads(), peak.f32_gflops, peak.bf16_gflops);
}

double forward_flops_per_token(const LlamaConfig& c, int64_t position, bool with_logits) {
  const double head = with_logits ? 0.0 : double(c.vocab_size) * c.hidden_size;
  return 2.0 * (matmul_parameters(c) - head) + attention_flops(c, double(position + 1));
}

const char* const kTrainFlopsFormula =
    "FLOPs/token: full 6*matmul_params, LoRA 4*matmul_params + 6*adapter_params; "
    "+ causal attention 3 x 4*layers*heads*head_dim*(pos+1); matmul_params include the LM head";

double train_flops_per_step(const LlamaConfig& c, bool lora, double adapter_params, int64_t seq) {
  const double per_token = lora ? 4.0 * matmul_parameters(c) + 6.0 * adapter_params : 6.0 * matmul_parameters(c);
  const double keys_summed = double(seq) * double(seq + 1) / 2.0;  // position p attends to p + 1 keys
  return per_token * double(seq) + 3.0 * attention_flops(c, keys_summed);
}

}  // namespace whet::cli
