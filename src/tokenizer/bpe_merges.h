#pragma once
// The merge table of a BPE vocabulary and the merge loop, applied the way Hugging
// Face `tokenizers` applies it: repeatedly merge the adjacent pair with the lowest
// rank, the leftmost one when the same pair occurs more than once.
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace whet {

class BpeMerges {
 public:
  // Registers the next merge in rank order. A pair listed twice keeps the later
  // rank, as in `tokenizers`.
  void add(int32_t left, int32_t right, int32_t merged);

  // Merges `symbols` (token ids of one pre-tokenized word) in place.
  void apply(std::vector<int32_t>& symbols) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
  const Merge* find(int32_t left, int32_t right) const;

  std::unordered_map<uint64_t, Merge> by_pair_;
  int32_t next_rank_ = 0;
};

}  // namespace whet
