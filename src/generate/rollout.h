#pragma once
// Groups of sampled completions for online RL (GRPO): `group_size` completions
// of each prompt, decoded together through llama_forward_batch, so the weights
// are read once per step for the whole batch. The adapter being trained is
// applied live, unmerged, as the server applies one: no copy of the model. A
// prompt runs once and its key/value cache is copied to the group's sequences.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "models/model_loader.h"

namespace whet {

struct RolloutOptions {
  SamplingParams sampling;  // each sequence samples with seed sampling.seed + its index
  int group_size = 2;       // completions per prompt
  int max_tokens = 64;      // a completion longer than this is cut
  // End tokens (eos, end of turn) cannot be sampled before a completion has this
  // many tokens (Hugging Face's min_new_tokens); max_tokens here makes every
  // completion max_tokens long, as a benchmark wants. 0: off.
  int min_tokens = 0;
};

struct Rollout {
  size_t prompt = 0;            // index of its prompt
  std::vector<int32_t> tokens;  // the completion, with the token that ended it (end of turn, EOS) when it ended
  std::string text;             // its text without that token: what a grader reads
  bool ended = false;           // ended by the model; false: cut at max_tokens
};

// Rollouts in prompt order, each prompt's group_size consecutively (the layout
// group_advantages reads). `lora` null: the base alone. Prompts are not empty.
std::vector<Rollout> generate_rollouts(const LoadedModel& model, const LlamaLora* lora,
                                       std::span<const std::vector<int32_t>> prompts, const RolloutOptions& options);

}  // namespace whet
