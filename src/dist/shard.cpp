#include "dist/shard.h"

#include "core/error.h"

namespace whet::dist {

Shard shard_of(int64_t count, int rank, int ranks) {
  WHET_ASSERT(count >= 0 && ranks > 0 && rank >= 0 && rank < ranks);
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

}  // namespace whet::dist
