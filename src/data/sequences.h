#pragma once
// Tokenized examples -> fixed-budget training sequences for a causal LM, packed
// several to a sequence so that short examples do not waste compute on padding.
#include <cstdint>
#include <vector>

#include "data/data_options.h"
#include "data/data_stats.h"
#include "data/tokenize_example.h"

namespace whet {

// All four vectors have the same length, at most sequence_len. At position i the
// model reads ids[i] and is trained to predict targets[i] (-1: no loss there).
// An example of n tokens t0..t(n-1) occupies n-1 positions: inputs t0..t(n-2),
// targets t1..t(n-1) (or -1 where that token has no loss). Its last token is a
// target only, never an input, so no position predicts across two examples.
struct TrainingSequence {
  std::vector<int32_t> ids, targets;
  std::vector<int32_t> positions;      // rope position within the example, from 0
  std::vector<int32_t> segment_begin;  // index of the example's first position: attend to [segment_begin[i], i]
  // Sequence classification: one example whose label index a classification
  // head learns (targets all -1, every token an input); -1 for causal-LM sequences.
  int32_t label = -1;

  bool operator==(const TrainingSequence&) const = default;
};

// Examples longer than sequence_len + 1 tokens are truncated (or dropped with
// options.drop_long); examples with no loss-bearing target are dropped. With
// options.sample_packing, examples fill sequences greedily in the given order;
// without it, one example per sequence. Counts go to `stats`.
std::vector<TrainingSequence> build_sequences(const std::vector<TokenizedExample>& examples,
                                              const DataOptions& options, SequenceStats& stats);

}  // namespace whet
