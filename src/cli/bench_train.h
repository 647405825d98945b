#pragma once
// `whet bench train`: its options, and what its methods share across files
// (cmd_bench.cpp holds lora, full and dpo; cmd_bench_grpo.cpp holds grpo).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/options.h"

namespace whet::cli {

struct BenchTrainOptions {
  std::string method = "lora";
  int seq = 512;
  int steps = 5;
  int warmup = 2;
  int lora_r = 16;
  int num_generations = 4;  // grpo: completions per prompt (G)
  std::string gradient_checkpointing = "false";  // true, false or a number of blocks, as the train config's key
  bool json = false;
  bool profile = false;  // time by phase of the measured steps (cli/bench_profile.h)
};

// The blocks --gradient-checkpointing checkpoints (LlamaActivations clamps true's kEveryBlock to the model's).
int checkpointed_blocks(const BenchTrainOptions& o);

// Fixed pseudo-random token ids, std::mt19937 seeded with 1 taken modulo the
// vocabulary (the ids the Python peers draw with torch's mt19937): which tokens
// run does not change the time they take.
std::vector<int32_t> random_prompt(int n, int32_t vocab);

// What every `bench train` method reports in its JSON line; each adds its own fields.
struct TrainReport {
  std::string model_path;
  int64_t trainable_params = 0;
  double step_s = 0, tokens_per_s = 0, mfu = 0, peak_rss_mib = 0;
};
nlohmann::json train_report_json(const ModelOptions& m, const BenchTrainOptions& o, const TrainReport& r);

void run_bench_train_grpo(const ModelOptions& m, const BenchTrainOptions& o);

}  // namespace whet::cli
