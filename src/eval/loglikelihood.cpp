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

void LogLikelihood::hold(std::span<const int32_t> prefix) {
  const size_t shared =
      std::mismatch(cached_.begin(), cached_.end(), prefix.begin(), prefix.end()).first - cached_.begin();
  cache_.length = int64_t(shared);
  if (shared < prefix.size()) forward(prefix.subspan(shared), false, shared);
  cached_.assign(prefix.begin(), prefix.end());
  rows_ = 0;  // the rows left are not this prefix's to reuse
}

std::vector<std::vector<double>> LogLikelihood::token_logprobs(std::span<const Scored> sequences) {
  WHET_ASSERT(!sequences.empty());
  // The shared positions [0, common) run once; every scored row is past them.
  size_t common = sequences[0].ids.size();
  for (const Scored& s : sequences) {
    WHET_ASSERT(s.from >= 1 && s.from < s.ids.size());
    if (int64_t(s.ids.size()) > cache_.capacity)
      fail("eval", "a sequence of {} tokens is longer than the scoring context of {}", s.ids.size(), cache_.capacity);
    const auto [a, b] = std::mismatch(sequences[0].ids.begin(), sequences[0].ids.end(), s.ids.begin(), s.ids.end());
    common = std::min({common, size_t(a - sequences[0].ids.begin()), s.from - 1});
  }
  hold(sequences[0].ids.first(common));
  if (branches_.size() < sequences.size()) branches_.resize(sequences.size(), KvCache(model_.model.config, 0));
  std::vector<BatchSequence> batch;
  for (size_t j = 0; j < sequences.size(); ++j) {
    KvCache& branch = branches_[j];
    if (branch.capacity < cache_.capacity) branch = KvCache(model_.model.config, cache_.capacity);
    copy_cache_prefix(model_.model.config, cache_, int64_t(common), branch);
    // The last token predicts nothing that is scored, so it is never run.
    batch.push_back({&branch, sequences[j].ids.subspan(common, sequences[j].ids.size() - 1 - common)});
  }
  llama_forward_batch(model_.model, batch, logits_, model_.adapter.get(), /*all_logits=*/true);
  const size_t vocab = size_t(model_.model.config.vocab_size);
  std::vector<std::vector<double>> out(sequences.size());
  size_t row = 0;  // of logits_, sequence after sequence
  for (size_t j = 0; j < sequences.size(); ++j) {
    const Scored& s = sequences[j];
    for (size_t p = common; p + 1 < s.ids.size(); ++p, ++row)
      if (p + 1 >= s.from) out[j].push_back(log_softmax_at(std::span<const float>(logits_).subspan(row * vocab, vocab), s.ids[p + 1]));
  }
  return out;
}

void LogLikelihood::forward(std::span<const int32_t> tokens, bool all_logits, size_t first_position) {
  llama_forward(model_.model, cache_, tokens, logits_, all_logits, model_.adapter.get());
  rows_ = all_logits ? tokens.size() : 1;
  rows_first_ = first_position + tokens.size() - rows_;
}

}  // namespace whet
