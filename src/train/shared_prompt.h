#pragma once
// A preference pair as one sequence that encodes its prompt once: [prompt,
// chosen, rejected]. The rejected answer's rows sit at the positions they would
// have after the prompt alone and see the prompt (TokenSequence::prefix_end) but
// not the chosen answer, so each answer's log-probability and gradients are those
// of its own [prompt, answer] sequence, for P + C + R tokens instead of 2P + C + R.
//
// The prompt's last token predicts both answers' first tokens, and a row has one
// target: the rejected part starts with a copy of that token at the same
// position, seeing the prompt before it, so its hidden states equal the
// original's at every layer. The rows are those of the two answer sequences:
// chosen's all, then rejected's from its first target on.
#include <array>
#include <cstdint>
#include <vector>

#include "data/sequences.h"
#include "models/llama_train.h"

namespace whet {

struct SharedPromptSequence {
  TrainingSequence sequence;
  std::vector<int32_t> prefix_end;  // the prompt's rows before its last, for the rejected rows; 0 for the rest
  std::array<int64_t, 2> row_ends{};  // rows [0, row_ends[0]) hold chosen's targets, [row_ends[0], row_ends[1]) rejected's

  TokenSequence view() const;
};

// From a pair's two answer sequences (answer_sequence's layout: one example, the
// same prompt rows up to the first target).
SharedPromptSequence share_prompt(const TrainingSequence& chosen, const TrainingSequence& rejected);

// Rows of the shared sequence, without building it.
int64_t shared_prompt_rows(const TrainingSequence& chosen, const TrainingSequence& rejected);

// The pair's tokens: its prompt once and both answers (what throughput counts).
int64_t pair_tokens(const TrainingSequence& chosen, const TrainingSequence& rejected);

}  // namespace whet
