#pragma once
// Keys and values of recent prompts, so that a new prompt starting the same way
// (a chat template's system message, the earlier turns of a conversation)
// copies them instead of running them again, as vLLM's automatic prefix caching
// and llama.cpp's server do. Prompts are told apart by the adapter they ran
// with: an adapter on k or v changes the rows.
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include "models/llama.h"

namespace whet::serve {

class PromptPrefixCache {
 public:
  // Holds at most `max_positions` positions over all its prompts (0: none), least recently used out first.
  PromptPrefixCache(const LlamaConfig& config, int64_t max_positions, DType kv_dtype);

  // Copies the longest stored prefix of `prompt` under `adapter` into the empty
  // `cache` (its dtype the store's), always leaving the prompt's last token to
  // run for its logits; returns the positions copied.
  int64_t reuse(std::span<const int32_t> prompt, const std::shared_ptr<const LlamaLora>& adapter, KvCache& cache);
  // Stores the prompt's positions from `cache`, which has just run the whole prompt.
  void keep(std::span<const int32_t> prompt, const std::shared_ptr<const LlamaLora>& adapter, const KvCache& cache);

  int64_t positions() const { return positions_; }

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::shared_ptr<const LlamaLora> adapter;  // held, so that its address names no other adapter meanwhile
    KvCache cache;
  };
  void evict_until(int64_t room);

  const LlamaConfig& config_;
  int64_t max_positions_;
  DType kv_dtype_;
  int64_t positions_ = 0;
  std::list<Entry> entries_;  // most recently used first
};

}  // namespace whet::serve
