#include "generate/rollout.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "core/error.h"
#include "generate/text_stream.h"

namespace whet {

namespace {

// One completion being decoded: its cache, its sampler and its text.
struct Decoding {
  KvCache cache;
  std::vector<int32_t> history;  // prompt and completion, for the repetition penalty
  std::vector<float> logits;     // of the next token
  Sampler sampler;
  TextStream stream;
  Rollout rollout;
  int32_t last = -1;  // the token sampled this step, to run next
};

// The prompt runs once; its cache and next-token logits start every member of its group.
void start_group(const LoadedModel& model, const LlamaLora* lora, std::span<const int32_t> prompt, size_t index,
                 const RolloutOptions& options, std::vector<std::unique_ptr<Decoding>>& out) {
  KvCache cache(model.model.config, int64_t(prompt.size()) + options.max_tokens);
  std::vector<float> logits;
  llama_forward(model.model, cache, prompt, logits, /*all_logits=*/false, lora);
  for (int g = 0; g < options.group_size; ++g) {
    SamplingParams sampling = options.sampling;
    sampling.seed += uint64_t(out.size());
    out.push_back(std::unique_ptr<Decoding>(new Decoding{
        cache, {prompt.begin(), prompt.end()}, logits, Sampler(sampling), TextStream(model, {}), Rollout{index}}));
  }
}

// Samples the next token of d; false when its completion is over.
bool sample_next(Decoding& d, const TokenizerSpec& spec, const RolloutOptions& options) {
  if (int(d.rollout.tokens.size()) < options.min_tokens)
    for (const int end : {spec.eos_id, spec.eot_id})
      if (end >= 0 && end < int(d.logits.size())) d.logits[size_t(end)] = -std::numeric_limits<float>::infinity();
  d.last = d.sampler.sample(d.logits, d.history);
  d.rollout.tokens.push_back(d.last);
  d.history.push_back(d.last);
  if (!d.stream.push(d.last)) {
    d.rollout.ended = true;
    return false;
  }
  if (int(d.rollout.tokens.size()) >= options.max_tokens) {
    d.stream.finish("length");
    return false;
  }
  return true;
}

}  // namespace

std::vector<Rollout> generate_rollouts(const LoadedModel& model, const LlamaLora* lora,
                                       std::span<const std::vector<int32_t>> prompts, const RolloutOptions& options) {
  WHET_ASSERT(options.group_size >= 1 && options.max_tokens >= 1);
  std::vector<std::unique_ptr<Decoding>> decoding;
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) fail("rollout", "prompt {} is empty", p);
    start_group(model, lora, prompts[p], p, options, decoding);
  }
  std::vector<Decoding*> running;
  for (auto& d : decoding) running.push_back(d.get());
  std::vector<float> logits;
  const int64_t vocab = model.model.config.vocab_size;
  while (!running.empty()) {
    // Sample every running sequence, then run the ones that go on in one batch.
    std::erase_if(running, [&](Decoding* d) { return !sample_next(*d, model.tokenizer.spec(), options); });
    if (running.empty()) break;
    std::vector<BatchSequence> batch;
    for (Decoding* d : running) batch.push_back({&d->cache, std::span<const int32_t>(&d->last, 1)});
    llama_forward_batch(model.model, batch, logits, lora);
    for (size_t i = 0; i < running.size(); ++i)
      running[i]->logits.assign(logits.begin() + int64_t(i) * vocab, logits.begin() + int64_t(i + 1) * vocab);
  }
  std::vector<Rollout> out;
  for (auto& d : decoding) {
    d->rollout.text = d->stream.text();
    out.push_back(std::move(d->rollout));
  }
  return out;
}

}  // namespace whet
