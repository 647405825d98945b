#include "serve/prompt_prefix_cache.h"

#include <algorithm>

#include "core/error.h"

namespace whet::serve {

namespace {

int64_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const auto [end_a, end_b] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return end_a - a.begin();
}

}  // namespace

PromptPrefixCache::PromptPrefixCache(const LlamaConfig& config, int64_t max_positions, DType kv_dtype)
    : config_(config), max_positions_(max_positions), kv_dtype_(kv_dtype) {}

int64_t PromptPrefixCache::reuse(std::span<const int32_t> prompt, const std::shared_ptr<const LlamaLora>& adapter,
                                 KvCache& cache) {
  WHET_ASSERT(cache.length == 0 && cache.dtype == kv_dtype_);
  auto best = entries_.end();
  int64_t best_length = 0;
  for (auto e = entries_.begin(); e != entries_.end(); ++e) {
    if (e->adapter != adapter) continue;
    const int64_t length = std::min(common_prefix(e->tokens, prompt), int64_t(prompt.size()) - 1);
    if (length > best_length) {
      best = e;
      best_length = length;
    }
  }
  if (best_length == 0) return 0;
  copy_cache_prefix(config_, best->cache, best_length, cache);
  entries_.splice(entries_.begin(), entries_, best);
  return best_length;
}

void PromptPrefixCache::keep(std::span<const int32_t> prompt, const std::shared_ptr<const LlamaLora>& adapter,
                             const KvCache& cache) {
  const int64_t length = int64_t(prompt.size());
  if (length > max_positions_) return;
  WHET_ASSERT(cache.length >= length && cache.dtype == kv_dtype_);
  for (auto e = entries_.begin(); e != entries_.end(); ++e)
    if (e->adapter == adapter && common_prefix(e->tokens, prompt) == length) {
      entries_.splice(entries_.begin(), entries_, e);  // stored already, within a longer prompt
      return;
    }
  // A stored prompt that this one extends gives way to it.
  for (auto e = entries_.begin(); e != entries_.end();) {
    const bool covered = e->adapter == adapter && common_prefix(e->tokens, prompt) == int64_t(e->tokens.size());
    if (covered) {
      positions_ -= int64_t(e->tokens.size());
      e = entries_.erase(e);
    } else {
      ++e;
    }
  }
  evict_until(max_positions_ - length);
  Entry entry{{prompt.begin(), prompt.end()}, adapter, KvCache(config_, length, kv_dtype_)};
  copy_cache_prefix(config_, cache, length, entry.cache);
  entries_.push_front(std::move(entry));
  positions_ += length;
}

void PromptPrefixCache::evict_until(int64_t room) {
  while (positions_ > room && !entries_.empty()) {
    positions_ -= int64_t(entries_.back().tokens.size());
    entries_.pop_back();
  }
}

}  // namespace whet::serve
