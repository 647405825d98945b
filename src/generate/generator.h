#pragma once
// Text generation on a loaded model: prefill, then token-by-token decoding with
// stop conditions and streaming of text as it becomes final.
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "generate/sampler.h"
#include "models/model_loader.h"

namespace whet {

struct GenerationOptions {
  SamplingParams sampling;
  int max_tokens = 256;
  std::vector<std::string> stop;  // the answer ends before the first occurrence of any of these
};

struct GenerationResult {
  std::string text;
  std::vector<int32_t> tokens;
  int prompt_tokens = 0;
  int reused_prompt_tokens = 0;  // served from the session's cache
  double prefill_seconds = 0, decode_seconds = 0;
  std::string finish_reason;  // "stop" (end token or stop string) or "length"
};

// A conversation's key/value cache and the tokens it holds. A new prompt that
// starts with the same tokens reuses them instead of recomputing.
struct Session {
  KvCache cache;
  std::vector<int32_t> tokens;
  // context 0: usable_context(model.config); kv_cache_dtype: KvCache's F32 or F16.
  explicit Session(const LlamaModel& model, int64_t context = 0, DType kv_cache_dtype = DType::F32);
};

// on_text receives final text pieces in order (never a split UTF-8 character,
// never text that a stop string may still cut).
GenerationResult generate(const LoadedModel& model, Session& session, std::span<const int32_t> prompt,
                          const GenerationOptions& options,
                          const std::function<void(std::string_view)>& on_text = {});

}  // namespace whet
