#include "eval/loglikelihood.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whet {

double log_softmax_at(std::span<const float> logits, int32_t target) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - max);
  return double(logits[size_t(target)]) - max - std::log(sum);
}

LogLikelihood::LogLikelihood(const LoadedModel& model, int64_t capacity)
    : model_(model), cache_(model.model.config, capacity) {}

std::vector<double> LogLikelihood::token_logprobs(std::span<const int32_t> ids, size_t from) {
  WHET_ASSERT(from >= 1 && from < ids.size());
  if (int64_t(ids.size()) > cache_.capacity)
    fail("eval", "a sequence of {} tokens is longer than the scoring context of {}", ids.size(), cache_.capacity);
  const size_t vocab = size_t(model_.model.config.vocab_size);
  const size_t shared = std::mismatch(cached_.begin(), cached_.end(), ids.begin(), ids.end()).first - cached_.begin();
  auto row = [&](size_t position) { return std::span<const float>(logits_).subspan((position - rows_first_) * vocab, vocab); };
  std::vector<double> out;
  // The first scored token is predicted by position from-1. When the previous
  // call computed that row on the same prefix (another label after the same
  // prompt), it is reused; otherwise the cache is cut back to the common prefix
  // and the prompt's remainder is run.
  size_t next;  // the first position still to run
  if (shared >= from && from - 1 >= rows_first_ && from - 1 < rows_first_ + rows_) {
    out.push_back(log_softmax_at(row(from - 1), ids[from]));
    next = from;
  } else {
    const size_t keep = std::min(shared, from - 1);
    cache_.length = int64_t(keep);
    if (keep < from - 1) forward(ids.subspan(keep, from - 1 - keep), false, keep);
    next = from - 1;
  }
  cache_.length = int64_t(next);
  // The last token predicts nothing that is scored, so it is never run.
  if (next < ids.size() - 1) {
    forward(ids.subspan(next, ids.size() - 1 - next), true, next);
    for (size_t p = next; p + 1 < ids.size(); ++p) out.push_back(log_softmax_at(row(p), ids[p + 1]));
  }
  cached_.assign(ids.begin(), ids.end() - 1);
  return out;
}

void LogLikelihood::forward(std::span<const int32_t> tokens, bool all_logits, size_t first_position) {
  llama_forward(model_.model, cache_, tokens, logits_, all_logits, model_.adapter.get());
  rows_ = all_logits ? tokens.size() : 1;
  rows_first_ = first_position + tokens.size() - rows_;
}

}  // namespace whet
