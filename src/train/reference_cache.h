#pragma once
// The reference model's log-probabilities of a preference run's answers, kept
// in OUTPUT/reference_logps.json so that they are computed once per model and
// data: a resumed run (whose full fine-tuning has changed the weights the
// reference came from) or a run again into the same folder reads them back.
// The key is the content, not names: a hash of the frozen weights as loaded
// (their encoding included) and a hash of every sequence as tokenized (so the
// data, the chat template and sequence_len are all in it). Another key means
// the numbers belong to something else; they are computed afresh and replaced.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data/sequences.h"
#include "models/llama.h"

namespace whet {

// Two answers per item: a pair's chosen and rejected, or a KTO answer and its mismatched one.
using ItemAnswers = std::array<const TrainingSequence*, 2>;
using ItemReferences = std::array<double, 2>;

struct ReferenceKey {
  uint64_t weights = 0, sequences = 0;
  friend bool operator==(const ReferenceKey&, const ReferenceKey&) = default;
};
ReferenceKey reference_key(const LlamaModel& model, std::span<const ItemAnswers> train,
                           std::span<const ItemAnswers> validation);

struct CachedReferences {
  std::vector<ItemReferences> train, validation;
};

// The numbers stored under `key`, or nothing when the file is absent or was
// written for another key. A file that claims the key but does not hold one
// finite pair of numbers per item is refused (whet::Error naming the file).
std::optional<CachedReferences> read_reference_cache(const std::string& path, const ReferenceKey& key,
                                                     size_t train_items, size_t validation_items);
// Replaces the file atomically.
void write_reference_cache(const std::string& path, const ReferenceKey& key, const CachedReferences& references);

}  // namespace whet
