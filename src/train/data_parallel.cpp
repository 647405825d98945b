#include "train/data_parallel.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace whet {

dist::Shard rank_shard(size_t count, const dist::Communicator* world) {
  return world ? dist::shard_of(int64_t(count), world->rank(), world->size()) : dist::Shard{0, int64_t(count)};
}

void sum_over_ranks(std::span<double> values, dist::Communicator* world) {
  if (world && world->size() > 1) world->allreduce_sum(values);
}

std::vector<double> gathered_over_ranks(std::span<const double> mine, size_t count, dist::Communicator* world,
                                        size_t per_item) {
  const dist::Shard shard = rank_shard(count, world);
  WHET_ASSERT(mine.size() == size_t(shard.size()) * per_item);
  // Zeros elsewhere: the sum is every rank's values, each in its place, exactly.
  std::vector<double> all(count * per_item, 0.0);
  std::copy(mine.begin(), mine.end(), all.begin() + shard.begin * int64_t(per_item));
  sum_over_ranks(all, world);
  return all;
}

SyncWait sum_gradients(const DataParallel& dp) {
  if (!dp.sync) return {};
  SyncWait wait{dp.sync->finish()};
  std::array<double, 1> least{-wait.waited_s};
  dp.world->allreduce_max(least);
  wait.exposed_s = -least[0];
  return wait;
}

}  // namespace whet
