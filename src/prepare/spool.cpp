#include "prepare/spool.h"

#include <xxhash.h>

#include <fmt/format.h>

#include "core/error.h"
#include "prepare/dedup.h"
#include "prepare/minhash.h"

namespace whet {

Spool::Spool(const std::string& dir, const DedupConfig& dedup, uint64_t seed, std::string label_field)
    : dedup_(dedup), seed_(seed), label_field_(std::move(label_field)), store_(dir) {
  if (dedup_.near != "off") signatures_.emplace(dir);
}

void Spool::add(const std::vector<Record>& records) {
  const bool near = signatures_.has_value();
  const size_t first = keys_.size(), first_stored = store_.size();
  const size_t bands = size_t(dedup_.bands);
  keys_.resize(first + records.size());
  std::vector<std::string> encoded(records.size()), signatures(near ? records.size() : 0);
  if (near) band_keys_.resize((first_stored + records.size()) * bands);
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    RecordKey& key = keys_[first + i];
    key.id = r.id, key.group = r.group, key.line = r.example.line;
    key.train_only = r.train_only;
    if (!label_field_.empty()) key.label = label_of(r, label_field_);
    encoded[i] = encode_record(r);
    if (!dedup_.exact && !near) continue;
    const std::string text = record_text(r);
    key.text_bytes = text.size();
    if (dedup_.exact) key.text_hash = XXH3_64bits(text.data(), text.size());
    if (!near) continue;
    const std::vector<uint32_t> signature = text_signature(text, dedup_, seed_);
    signatures[i].assign(reinterpret_cast<const char*>(signature.data()), signature.size() * sizeof(uint32_t));
    const std::vector<uint64_t> keys = lsh_band_keys(signature, dedup_.bands);
    std::copy(keys.begin(), keys.end(), band_keys_.begin() + ptrdiff_t((first_stored + i) * bands));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    RecordKey& key = keys_[first + i];
    const auto [it, inserted] = file_numbers_.emplace(records[i].example.file, uint32_t(files_.size()));
    if (inserted) files_.push_back(records[i].example.file);
    key.file = it->second;
    key.stored = store_.append_encoded(encoded[i]);  // rows of the signatures file follow the store's numbers
    if (near) signatures_->append(signatures[i]);
  }
}

Record Spool::read(const RecordKey& key) const { return store_.read(key.stored); }

std::string Spool::where(const RecordKey& key) const { return fmt::format("{}:{}", files_[key.file], key.line); }

std::vector<uint32_t> Spool::signature(const RecordKey& key) const {
  WHET_ASSERT(signatures_);
  std::vector<uint32_t> out(size_t(dedup_.permutations));
  signatures_->read(uint64_t(key.stored) * out.size() * sizeof(uint32_t), out.data(), out.size() * sizeof(uint32_t));
  return out;
}

std::span<const uint64_t> Spool::band_keys(const RecordKey& key) const {
  WHET_ASSERT(signatures_);
  return std::span<const uint64_t>(band_keys_).subspan(key.stored * size_t(dedup_.bands), size_t(dedup_.bands));
}

void drop_marked(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger, const std::vector<Reason>& reasons) {
  WHET_ASSERT(reasons.size() == keys.size());
  size_t kept = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!reasons[i].category.empty()) {
      ledger.drop(keys[i].id, spool.where(keys[i]), reasons[i]);
    } else {
      if (kept != i) keys[kept] = std::move(keys[i]);
      ++kept;
    }
  }
  keys.resize(kept);
}

}  // namespace whet
