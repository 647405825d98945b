#pragma once
// Greedy answers to several questions, decoded together through the batched
// engine (generate/rollout.h) instead of one generate() after another: the same
// tokens and text (Rollout.GreedyGroupsMatchOneAtATimeGeneration checks it), with
// the weights read once per step for every question instead of once each.
#include <string>
#include <vector>

#include "generate/prompt.h"
#include "generate/rollout.h"

namespace whet::test {

// Each question asked alone through the model's chat template, answered with its adapter (if any).
inline std::vector<std::string> greedy_answers(const LoadedModel& model, const std::vector<std::string>& questions,
                                               int max_tokens) {
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string& question : questions) prompts.push_back(chat_prompt_tokens(model, {{"user", question}}));
  RolloutOptions greedy;
  greedy.group_size = 1;
  greedy.max_tokens = max_tokens;
  greedy.sampling.temperature = 0.0f;
  std::vector<std::string> answers;
  for (const Rollout& r : generate_rollouts(model, model.adapter.get(), prompts, greedy)) answers.push_back(r.text);
  return answers;
}

}  // namespace whet::test
