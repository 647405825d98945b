#pragma once
// Records on disk, read back by number: how the pipeline holds a dataset larger
// than memory between the stages that see one record at a time and those that
// see all of them (dedup, split, leakage). Every field of the record survives
// the round trip, marks included.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/spill_file.h"
#include "prepare/record.h"

namespace whet {

class RecordStore {
 public:
  explicit RecordStore(const std::string& dir);  // the scratch file's folder
  size_t append(const Record& record);           // returns its number, counted from 0
  size_t append_encoded(std::string_view bytes);  // a record encode_record made (in parallel, say)
  Record read(size_t number) const;              // safe from several threads at once
  size_t size() const { return offsets_.size(); }

 private:
  SpillFile file_;
  std::vector<uint64_t> offsets_;  // where each record starts; the next start (or the end) closes it
};

// The byte form the store keeps; exposed for the round-trip test.
std::string encode_record(const Record& record);
Record decode_record(std::string_view bytes);

}  // namespace whet
