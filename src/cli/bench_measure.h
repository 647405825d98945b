#pragma once
// What `whet bench` measures with: the median time of a repeated call, the
// machine's sustained GEMM peak (the denominator of every MFU figure), and the
// model FLOPs of forward passes and training steps (the numerators).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "models/llama_config.h"

namespace whet::cli {

template <typename Fn>
double median_seconds(int repeats, const Fn& fn) {
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Sustained GEMM throughput of this machine through oneDNN.
struct Peak {
  double f32_gflops = 0, bf16_gflops = 0;
  double gflops(const std::string& weights) const { return weights == "bf16" ? bf16_gflops : f32_gflops; }
};

// Call it after loading (the thread count is set then) and after reading peak RSS
// (its 64 MiB of buffers are not the workload's); a second call reuses the first result.
const Peak& machine_peak();
void print_peak_header(const Peak& peak);

// Forward FLOPs of one token at `position`: 2 per weight multiply-add, plus attention
// over the history; the LM head's only for a token whose logits are made (a prefill
// makes the last token's alone, which matters with a 262k vocabulary).
double forward_flops_per_token(const LlamaConfig& c, int64_t position, bool with_logits);

// Model FLOPs of one training step on `seq` tokens, counting only what the method
// must compute (recomputation inside kernels is not credited):
//   full: 6 x matmul params per token (forward 2, input gradient 2, weight gradient 2);
//   LoRA: 4 x matmul params (the frozen base needs no weight gradient) + 6 x adapter params;
//   both: causal attention, 3 x its forward (backward = dQ, dK, dV, dP), summed over positions.
extern const char* const kTrainFlopsFormula;
double train_flops_per_step(const LlamaConfig& c, bool lora, double adapter_params, int64_t seq);

}  // namespace whet::cli
