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

  // token_logprobs of each sequence (a prompt with each of its choices): their
  // common beginning runs once, and what follows it in every sequence runs in one
  // batched pass, reading the weights once for all the choices instead of once
  // each (scoring a few tokens per choice is bound by reading the weights).
  struct Scored {
    std::span<const int32_t> ids;
    size_t from = 1;
  };
  std::vector<std::vector<double>> token_logprobs(std::span<const Scored> sequences);

 private:
  // Runs `tokens` at first_position onward and records which positions' logits it left.
  void forward(std::span<const int32_t> tokens, bool all_logits, size_t first_position);

  // Brings the cache to hold exactly prefix (reusing what it shares with it).
  void hold(std::span<const int32_t> prefix);

  const LoadedModel& model_;
  KvCache cache_;
  std::vector<KvCache> branches_;  // one per sequence of a batch, each starting as a copy of cache_
  std::vector<int32_t> cached_;  // the tokens whose keys and values the cache holds
  std::vector<float> logits_;    // rows_ rows, for positions rows_first_ onward
  size_t rows_first_ = 0, rows_ = 0;
};

// log-softmax of one row of logits at `target`, accumulated in double.
double log_softmax_at(std::span<const float> logits, int32_t target);

}  // namespace whet
