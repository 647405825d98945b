#include "serve/drift_scorer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "eval/loglikelihood.h"

namespace whet::serve {

std::optional<double> prompt_perplexity(const LoadedModel& model, std::span<const int32_t> tokens,
                                        const RunWhenIdle& run_when_idle) {
  if (tokens.size() < 2) return std::nullopt;
  const size_t vocab = size_t(model.model.config.vocab_size);
  KvCache cache(model.model.config, int64_t(tokens.size()));
  std::vector<float> logits;
  double negative_log_likelihood = 0;
  // Position p predicts token p + 1; the last token predicts nothing scored, so it is never run.
  for (size_t start = 0; start + 1 < tokens.size(); start += kScoringChunk) {
    const size_t count = std::min(kScoringChunk, tokens.size() - 1 - start);
    if (!run_when_idle([&] { llama_forward(model.model, cache, tokens.subspan(start, count), logits, true); }))
      return std::nullopt;
    for (size_t row = 0; row < count; ++row)
      negative_log_likelihood -= log_softmax_at(std::span<const float>(logits).subspan(row * vocab, vocab),
                                                tokens[start + row + 1]);
  }
  return std::exp(negative_log_likelihood / double(tokens.size() - 1));
}

}  // namespace whet::serve
