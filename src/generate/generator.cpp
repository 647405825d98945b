#include "generate/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "generate/text_stream.h"

namespace whet {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Session::Session(const LlamaModel& model, int64_t context, DType kv_cache_dtype)
    : cache(model.config, context > 0 ? context : usable_context(model.config), kv_cache_dtype) {}

GenerationResult generate(const LoadedModel& loaded, Session& session, std::span<const int32_t> prompt,
                          const GenerationOptions& options, const std::function<void(std::string_view)>& on_text) {
  if (prompt.empty()) fail("generate", "empty prompt");
  GenerationResult result;
  result.prompt_tokens = int(prompt.size());

  // Reuse the cached prefix, but always recompute at least the last prompt token for its logits.
  size_t reuse = 0;
  while (reuse + 1 < prompt.size() && reuse < session.tokens.size() && session.tokens[reuse] == prompt[reuse]) ++reuse;
  session.tokens.assign(prompt.begin(), prompt.begin() + reuse);
  session.cache.length = int64_t(reuse);
  result.reused_prompt_tokens = int(reuse);

  std::vector<float> logits;
  auto started = std::chrono::steady_clock::now();
  llama_forward(loaded.model, session.cache, prompt.subspan(reuse), logits, /*all_logits=*/false, loaded.adapter.get());
  session.tokens.insert(session.tokens.end(), prompt.begin() + reuse, prompt.end());
  result.prefill_seconds = seconds_since(started);

  TextStream stream(loaded, options.stop);
  auto release = [&] {
    const std::string_view piece = stream.take_final();
    if (on_text && !piece.empty()) on_text(piece);
  };
  Sampler sampler(options.sampling);
  started = std::chrono::steady_clock::now();
  for (int n = 0; n < options.max_tokens; ++n) {
    const int32_t next = sampler.sample(logits, session.tokens);
    if (!stream.push(next)) break;
    release();
    if (session.cache.length >= session.cache.capacity) break;
    const int32_t step[1] = {next};
    llama_forward(loaded.model, session.cache, step, logits, /*all_logits=*/false, loaded.adapter.get());
    session.tokens.push_back(next);
  }
  if (stream.finish_reason().empty()) stream.finish("length");
  release();
  result.decode_seconds = seconds_since(started);
  result.text = stream.text();
  result.tokens = stream.tokens();
  result.finish_reason = stream.finish_reason();
  return result;
}

}  // namespace whet
