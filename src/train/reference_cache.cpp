#include "train/reference_cache.h"

#include <xxhash.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"

namespace whet {

namespace {

class Hasher {
 public:
  Hasher() : state_(XXH3_createState(), XXH3_freeState) { XXH3_64bits_reset(state_.get()); }
  void add(const void* data, size_t n) { XXH3_64bits_update(state_.get(), data, n); }
  template <typename T>
  void add(std::span<const T> values) {
    const uint64_t n = values.size();
    add(&n, sizeof n);  // the length too, so that [1,2][3] and [1][2,3] differ
    add(values.data(), values.size_bytes());
  }
  uint64_t digest() const { return XXH3_64bits_digest(state_.get()); }

 private:
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

std::string hex(uint64_t x) { return fmt::format("{:016x}", x); }

uint64_t weights_hash(const LlamaModel& model) {
  Hasher h;
  for_each_weight(model.weights, model.config, [&](const std::string& name, const Weight& w) {
    h.add(std::span<const char>(name));
    const int64_t header[3] = {int64_t(w.dtype), w.rows, w.cols};
    h.add(header, sizeof header);
    h.add(w.data, size_t(w.rows) * w.row_bytes());
  });
  return h.digest();
}

void add_items(Hasher& h, std::span<const ItemAnswers> items) {
  const uint64_t n = items.size();
  h.add(&n, sizeof n);
  for (const ItemAnswers& item : items)
    for (const TrainingSequence* s : item) {
      h.add(std::span<const int32_t>(s->ids));
      h.add(std::span<const int32_t>(s->targets));
      h.add(std::span<const int32_t>(s->positions));
      h.add(std::span<const int32_t>(s->segment_begin));
    }
}

std::vector<ItemReferences> read_split(const nlohmann::json& file, const char* key, size_t items,
                                       const std::string& path) {
  const nlohmann::json* split = file.contains(key) ? &file.at(key) : nullptr;
  if (!split || !split->is_array() || split->size() != items)
    fail(path, "'{}' must hold the reference log-probabilities of {} items; delete the file to recompute them", key,
         items);
  std::vector<ItemReferences> out;
  for (size_t i = 0; i < items; ++i) {
    const nlohmann::json& item = split->at(i);
    if (!item.is_array() || item.size() != 2 || !item[0].is_number() || !item[1].is_number() ||
        !std::isfinite(item[0].get<double>()) || !std::isfinite(item[1].get<double>()))
      fail(path, "'{}[{}]' must be two finite numbers; delete the file to recompute them", key, i);
    out.push_back({item[0].get<double>(), item[1].get<double>()});
  }
  return out;
}

}  // namespace

ReferenceKey reference_key(const LlamaModel& model, std::span<const ItemAnswers> train,
                           std::span<const ItemAnswers> validation) {
  Hasher h;
  add_items(h, train);
  add_items(h, validation);
  return {weights_hash(model), h.digest()};
}

std::optional<CachedReferences> read_reference_cache(const std::string& path, const ReferenceKey& key,
                                                     size_t train_items, size_t validation_items) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  const nlohmann::json file = read_json_object(path);
  if (file.value("weights", "") != hex(key.weights) || file.value("sequences", "") != hex(key.sequences))
    return std::nullopt;
  return CachedReferences{read_split(file, "train", train_items, path),
                          read_split(file, "validation", validation_items, path)};
}

void write_reference_cache(const std::string& path, const ReferenceKey& key, const CachedReferences& references) {
  const nlohmann::json file = {{"weights", hex(key.weights)},
                               {"sequences", hex(key.sequences)},
                               {"train", references.train},
                               {"validation", references.validation}};
  write_file_atomic(path, file.dump() + "\n");
}

}  // namespace whet
