#pragma once
// Which part of a global batch each process of a data-parallel run takes.
#include <cstdint>

namespace whet::dist {

// Items [begin, end) of a batch of `count`.
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// Rank `rank` of `ranks` takes a contiguous run of the batch, the runs in rank
// order and as even as can be (sizes differ by at most one, the larger last), so
// ranks × B items split into B each, in the order one process would take them.
Shard shard_of(int64_t count, int rank, int ranks);

}  // namespace whet::dist
