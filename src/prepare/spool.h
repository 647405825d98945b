#pragma once
// The records between the stages that see one record at a time (read,
// normalize, filter, pii) and those that must see all of them (dedup, split,
// leakage): the records themselves wait on disk in a RecordStore, their
// MinHash signatures in a scratch file beside it, and memory holds only a key
// per record (about a hundred bytes, plus its label) and its LSH band keys
// (8 bytes a band), whatever the record's size. This is what lets
// `whet data prepare` take files larger than memory.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/spill_file.h"
#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/record_store.h"

namespace whet {

struct RecordKey {
  size_t stored = 0;  // number in the store, and row of its signature
  size_t id = 0, group = 0;
  uint32_t file = 0;  // into Spool's file names
  size_t line = 0;
  size_t text_bytes = 0;   // of record_text: what keep-longest compares
  uint64_t text_hash = 0;  // XXH3 of record_text, when exact dedup is on
  std::string label;       // label_of under the spool's label field: the split's stratum
  bool train_only = false;
};

class Spool {
 public:
  // Scratch files go in `dir`. Hashes are made when dedup.exact asks for them,
  // MinHash signatures when dedup.near is not off, labels when label_field is set.
  Spool(const std::string& dir, const DedupConfig& dedup, uint64_t seed, std::string label_field);

  // Stores the records, making their keys, hashes and signatures in parallel.
  void add(const std::vector<Record>& records);
  // The keys, moved out for the stages to work on: the spool reads records
  // and signatures by the numbers in them and needs the list no more.
  std::vector<RecordKey> take_keys() { return std::move(keys_); }

  Record read(const RecordKey& key) const;  // safe from several threads at once
  std::string where(const RecordKey& key) const;  // "file:line", without reading the record
  std::vector<uint32_t> signature(const RecordKey& key) const;
  std::span<const uint64_t> band_keys(const RecordKey& key) const;
  const DedupConfig& dedup() const { return dedup_; }

 private:
  DedupConfig dedup_;
  uint64_t seed_;
  std::string label_field_;
  RecordStore store_;
  std::optional<SpillFile> signatures_;  // permutations x 4 bytes per record
  std::vector<uint64_t> band_keys_;      // bands per record, in memory for the LSH search
  std::vector<RecordKey> keys_;
  std::vector<std::string> files_;
  std::unordered_map<std::string, uint32_t> file_numbers_;
};

// Drops keys[i] when reasons[i] has a category; keeps the order.
void drop_marked(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger, const std::vector<Reason>& reasons);

}  // namespace whet
