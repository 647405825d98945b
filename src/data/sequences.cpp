// Greedy packing in the given order: the sequences are then a pure function of
// that order, which the seed fixes, so runs can be reproduced.
#include "data/sequences.h"

#include <algorithm>

#include "core/error.h"

namespace whet {

std::vector<TrainingSequence> build_sequences(const std::vector<TokenizedExample>& examples,
                                              const DataOptions& options, SequenceStats& stats) {
  if (options.sequence_len < 1) fail("data", "sequence_len must be at least 1, not {}", options.sequence_len);
  const size_t capacity = size_t(options.sequence_len);
  std::vector<TrainingSequence> sequences;
  for (const TokenizedExample& example : examples) {
    WHET_ASSERT(example.ids.size() == example.loss.size());
    ++stats.examples;
    const bool too_long = example.ids.size() > capacity + 1;
    if (too_long && options.drop_long) {
      ++stats.dropped_long;
      continue;
    }
    const size_t n = std::min(example.ids.size(), capacity + 1);  // tokens used
    const size_t loss_targets = n < 2 ? 0 : size_t(std::count(example.loss.begin() + 1, example.loss.begin() + n, true));
    if (loss_targets == 0) {
      ++stats.dropped_no_loss;
      continue;
    }
    stats.truncated += too_long;
    const size_t length = n - 1;  // positions
    if (sequences.empty() || !options.sample_packing || sequences.back().ids.size() + length > capacity)
      sequences.emplace_back();
    TrainingSequence& s = sequences.back();
    const int32_t begin = int32_t(s.ids.size());
    for (size_t i = 0; i < length; ++i) {
      s.ids.push_back(example.ids[i]);
      s.targets.push_back(example.loss[i + 1] ? example.ids[i + 1] : -1);
      s.positions.push_back(int32_t(i));
      s.segment_begin.push_back(begin);
    }
    stats.tokens += length;
    stats.loss_tokens += loss_targets;
  }
  stats.sequences += sequences.size();
  return sequences;
}

}  // namespace whet
