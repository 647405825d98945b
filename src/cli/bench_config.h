#pragma once
// The training step the benchmarks time, defined once for `whet bench train`
// and `whet bench preference`: all-linear LoRA of rank r (alpha 2r, no
// dropout) or full weights, AdamW at a constant 2e-4 (clipping to 1.0 at every
// step); with rl `dpo`, TRL's DPO defaults: sigmoid loss, β 0.1, no RPO term;
// with rl `grpo`, β 0 (no KL term, so no reference), ε 0.2, rollouts sampled at
// temperature 1 with top-p 1 (TrainConfig's defaults), one inner iteration.
#include <string>

#include "models/lora_adapter.h"
#include "train/train_config.h"

namespace whet::cli {

inline TrainConfig bench_train_config(TrainMethod method, int lora_r, const std::string& rl = "none") {
  TrainConfig config;
  config.method = method;
  config.lora_r = lora_r;
  config.lora_alpha = 2 * lora_r;
  config.lora_dropout = 0.0;
  config.lora_target_modules = {kProjectionNames.begin(), kProjectionNames.end()};  // all-linear
  config.learning_rate = 2e-4;
  config.lr_scheduler = LrScheduler::Constant;
  config.rl = rl;
  if (rl == "dpo") {
    config.rl_beta = 0.1;
    config.rpo_alpha = 0;
  } else if (rl == "grpo") {
    config.rl_beta = 0;
  }
  return config;
}

}  // namespace whet::cli
