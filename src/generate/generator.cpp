#include "generate/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace whet {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Length of the longest prefix of `text` that is whole UTF-8 characters.
size_t complete_utf8_prefix(std::string_view text) {
  size_t end = text.size();
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    const unsigned char c = text[text.size() - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) end = text.size() - back;
    break;
  }
  return end;
}

}  // namespace

Session::Session(const LlamaModel& model, int64_t context)
    : cache(model.config, context > 0 ? context : std::min(model.config.max_position_embeddings, 8192)) {}

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

  std::vector<std::string> stops = options.stop;
  if (loaded.chat_template) stops.push_back(loaded.chat_template->end_of_turn());
  size_t longest_stop = 0;
  for (const auto& s : stops) longest_stop = std::max(longest_stop, s.size());

  Sampler sampler(options.sampling);
  size_t emitted = 0;
  result.finish_reason = "length";
  started = std::chrono::steady_clock::now();
  for (int n = 0; n < options.max_tokens; ++n) {
    const int32_t next = sampler.sample(logits, session.tokens);
    if (loaded.tokenizer.is_end_of_generation(next)) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(next);
    result.text += loaded.tokenizer.token_bytes(next);

    size_t stop_at = std::string::npos;
    for (const auto& s : stops) {
      if (s.empty()) continue;
      size_t from = emitted > s.size() ? emitted - s.size() : 0;
      stop_at = std::min(stop_at, result.text.find(s, from));
    }
    if (stop_at != std::string::npos) {
      result.text.resize(stop_at);
      result.finish_reason = "stop";
      break;
    }
    // Hold back what a stop string could still claim, and any split character.
    size_t safe = result.text.size() > longest_stop ? result.text.size() - longest_stop + (longest_stop ? 1 : 0) : 0;
    safe = std::min(safe, complete_utf8_prefix(result.text));
    if (on_text && safe > emitted) on_text(std::string_view(result.text).substr(emitted, safe - emitted));
    emitted = std::max(emitted, safe);

    if (session.cache.length >= session.cache.capacity) break;
    const int32_t step[1] = {next};
    llama_forward(loaded.model, session.cache, step, logits, /*all_logits=*/false, loaded.adapter.get());
    session.tokens.push_back(next);
  }
  result.decode_seconds = seconds_since(started);
  const size_t final_end = complete_utf8_prefix(result.text);
  if (on_text && final_end > emitted) on_text(std::string_view(result.text).substr(emitted, final_end - emitted));
  return result;
}

}  // namespace whet
