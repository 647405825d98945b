#pragma once
// The company of a data-parallel step (docs/distributed.md), and what every
// objective's step does with it: each rank runs its share of the global batch,
// then the gradients and the numbers the step reports are summed over the ranks,
// so that every rank takes the update, and logs the metrics, of the whole batch.
#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "dist/communicator.h"
#include "dist/shard.h"
#include "train/gradient_sync.h"

namespace whet {

// The ranks, and the gradient buckets that sum the ranks' gradients. Both null: one process.
struct DataParallel {
  dist::Communicator* world = nullptr;
  GradientSync* sync = nullptr;
};

// This rank's part of `count` items (dist::shard_of); all of them without `world`.
dist::Shard rank_shard(size_t count, const dist::Communicator* world);

template <typename T>
std::span<T> rank_share(std::span<T> items, const dist::Communicator* world) {
  const dist::Shard mine = rank_shard(items.size(), world);
  return items.subspan(size_t(mine.begin), size_t(mine.size()));
}

// Sums `values` over the ranks, in place; nothing without `world`.
void sum_over_ranks(std::span<double> values, dist::Communicator* world);

// Sums the listed members of `totals` over the ranks, in place; nothing without `world`.
template <typename T, size_t N>
void sum_over_ranks(T& totals, const std::array<double T::*, N>& members, dist::Communicator* world) {
  std::array<double, N> sums;
  for (size_t i = 0; i < N; ++i) sums[i] = totals.*members[i];
  sum_over_ranks(sums, world);
  for (size_t i = 0; i < N; ++i) totals.*members[i] = sums[i];
}

// Every rank's values for its share of `count` items (`mine`, in order,
// `per_item` values each), gathered into the values of all `count` items, on
// every rank; `mine` itself without `world`.
std::vector<double> gathered_over_ranks(std::span<const double> mine, size_t count, dist::Communicator* world,
                                        size_t per_item = 1);

// The seconds this rank waited for the gradient sum after its backward
// (communication, and waiting for slower ranks), and the least any rank waited:
// what the last rank to finish its backward waited, the communication the backward did not hide.
struct SyncWait {
  double waited_s = 0.0, exposed_s = 0.0;
};

// Once this rank's backward of the step is done: sums the gradients over the
// ranks (the buckets not started yet start now). Nothing for one process.
SyncWait sum_gradients(const DataParallel& dp);

}  // namespace whet
