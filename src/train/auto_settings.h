#pragma once
// The rules behind `auto`: the settings a user did not give (or set to auto)
// decided from the training data's size, the method and the task type. The
// rules are measured on the default model (docs/training.md, "Automatic
// settings"); every decision carries its reason, which the run prints first and
// the jobs API reports. An explicit value is never touched.
#include <cstdint>
#include <string>
#include <vector>

#include "models/llama_config.h"
#include "train/train_config.h"

namespace whet {

// What the rules look at: the training data as read and tokenized, before packing.
struct DataShape {
  int64_t examples = 0;  // training examples (after the validation split)
  int64_t tokens = 0;    // their tokens
  bool has_validation = false;  // validation examples, or eval_task ranking the run
};

struct AutoDecision {
  std::string key;     // "num_epochs"
  std::string value;   // as YAML: "10", "all-linear"
  std::string reason;  // "10 examples: about 100 example passes"
};

// What the memory rules look at: the model as loaded and the machine.
struct MemoryShape {
  const LlamaConfig* model = nullptr;  // none: nothing to size (the keys are decided without an estimate)
  int64_t weight_bytes = 0;            // the weights as held (models/memory_estimate.h weight_bytes)
  bool head_decoded = false;           // the LM head is stored in a type the loss decodes to fp32
  int64_t available_bytes = 0;         // memory available when the run starts; 0: unknown
};

// Decides every key of `config` still auto, in key order, and returns the
// decisions. `learning_rate_scale` multiplies an auto learning rate (the jobs
// API's learning_rate_multiplier); it leaves an explicit one alone.
std::vector<AutoDecision> resolve_auto_settings(TrainConfig& config, const DataShape& data,
                                                double learning_rate_scale = 1.0);

// Decides memory_budget_mib and gradient_checkpointing when auto (after the
// keys above, since the estimate needs lora_r): the fewest checkpointed blocks
// whose estimated memory fits the budget (models/memory_estimate.h).
std::vector<AutoDecision> resolve_memory_settings(TrainConfig& config, const MemoryShape& memory);

// Decides `weights` when auto, before the model loads: the encoding that computes
// fastest on this CPU (models/model_loader.h fastest_weight_format): how a frozen
// base is held, or how a base that trains (full, freeze; fp32 masters whatever
// the key says) is multiplied.
std::vector<AutoDecision> resolve_weight_settings(TrainConfig& config);

// The keys of `config` still auto (empty once resolved).
std::vector<std::string> auto_keys(const TrainConfig& config);

// "auto: num_epochs 10 (10 examples: ...)", one line per decision.
std::vector<std::string> describe_decisions(const std::vector<AutoDecision>& decisions);

}  // namespace whet
