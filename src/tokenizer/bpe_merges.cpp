#include "tokenizer/bpe_merges.h"

#include <cstddef>
#include <queue>

namespace whet {
namespace {

// A pair that could be merged: the symbol at `left_pos` with its right neighbour,
// valid only while both still hold the ids recorded here.
struct Candidate {
  int32_t rank;
  int32_t left_pos;
  int32_t left_id, right_id, merged;
  // Priority queue order: lowest rank first, then leftmost.
  bool operator<(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : left_pos > other.left_pos;
  }
};

// The word as a doubly linked list over the original positions, so that a merge
// is O(1) and positions stay stable for tie-breaking.
struct Symbol {
  int32_t id;
  int32_t prev, next;  // -1 at the ends
};

}  // namespace

void BpeMerges::add(int32_t left, int32_t right, int32_t merged) {
  by_pair_[key(left, right)] = Merge{next_rank_++, merged};
}

const BpeMerges::Merge* BpeMerges::find(int32_t left, int32_t right) const {
  auto it = by_pair_.find(key(left, right));
  return it == by_pair_.end() ? nullptr : &it->second;
}

void BpeMerges::apply(std::vector<int32_t>& ids) const {
  if (ids.size() < 2) return;
  std::vector<Symbol> symbols(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) symbols[i] = {ids[i], int32_t(i) - 1, i + 1 < ids.size() ? int32_t(i + 1) : -1};

  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t left_pos) {
    if (left_pos < 0) return;
    int32_t right_pos = symbols[left_pos].next;
    if (right_pos < 0) return;
    int32_t left_id = symbols[left_pos].id, right_id = symbols[right_pos].id;
    if (const Merge* merge = find(left_id, right_id)) queue.push({merge->rank, left_pos, left_id, right_id, merge->merged});
  };
  for (int32_t pos = 0; pos + 1 < int32_t(symbols.size()); ++pos) consider(pos);

  std::vector<bool> merged_away(symbols.size(), false);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left_pos];
    bool stale = merged_away[top.left_pos] || left.id != top.left_id || left.next < 0 ||
                 symbols[left.next].id != top.right_id;
    if (stale) continue;
    int32_t right_pos = left.next;
    left.id = top.merged;
    left.next = symbols[right_pos].next;
    if (left.next >= 0) symbols[left.next].prev = top.left_pos;
    merged_away[right_pos] = true;
    consider(left.prev);
    consider(top.left_pos);
  }

  ids.clear();
  for (int32_t pos = 0; pos >= 0; pos = symbols[pos].next) ids.push_back(symbols[pos].id);
}

}  // namespace whet
