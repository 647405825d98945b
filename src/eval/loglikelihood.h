#pragma once
// Log-probabilities of given tokens under a model (with its adapter, if any),
// the measurement behind perplexity, label scoring and multiple choice. Items
// that share a beginning (one prompt scored with each label, or the same
// few-shot examples before every question) share its computation: the key/value
// cache keeps the previous sequence, and only the part after the common prefix
// is run again.
#include <cstdint>
#include <span>
#include <vector>

#include "models/model_loader.h"

namespace whet {

class LogLikelihood {
 public:
  // `capacity`: the longest sequence that will be scored, in tokens.
  LogLikelihood(const LoadedModel& model, int64_t capacity);

  // log P(ids[i] | ids[0..i)) for i in [from, ids.size()); 1 ≤ from < ids.size().
  std::vector<double> token_logprobs(std::span<const int32_t> ids, size_t from);

 private:
  // Runs `tokens` at first_position onward and records which positions' logits it left.
  void forward(std::span<const int32_t> tokens, bool all_logits, size_t first_position);

  const LoadedModel& model_;
  KvCache cache_;
  std::vector<int32_t> cached_;  // the tokens whose keys and values the cache holds
  std::vector<float> logits_;    // rows_ rows, for positions rows_first_ onward
  size_t rows_first_ = 0, rows_ = 0;
};

// log-softmax of one row of logits at `target`, accumulated in double.
double log_softmax_at(std::span<const float> logits, int32_t target);

}  // namespace whet
