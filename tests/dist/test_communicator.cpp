#include "dist/communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "dist/shard.h"

namespace whet::dist {
namespace {

TEST(Communicator, OneProcessIsRankZeroOfOneAndItsSumsAreItsOwnValues) {
  const std::unique_ptr<Communicator> world = single_process();
  EXPECT_EQ(world->rank(), 0);
  EXPECT_EQ(world->size(), 1);
  std::vector<float> f{1.5f, -2.0f};
  std::vector<double> d{3.25};
  world->allreduce_sum(f);
  world->allreduce_sum(d);
  world->allreduce_max(d);
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(d, (std::vector<double>{3.25}));
  const std::unique_ptr<PendingCollective> pending = world->start_allreduce_sum(f);
  EXPECT_TRUE(pending->test());
  pending->wait();
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  std::vector<std::byte> bytes{std::byte{7}};
  world->broadcast(bytes, 0);
  EXPECT_EQ(bytes[0], std::byte{7});
  world->barrier();
}

TEST(Communicator, WithoutMpirunsVariablesTheWorldIsOneProcess) {
  if (started_by_mpirun()) GTEST_FAIL() << "the unit tests run without mpirun";
  EXPECT_EQ(join_world()->size(), 1);
}

TEST(Shard, RanksTakeEqualContiguousRunsInRankOrder) {
  // 2 ranks × 4 sequences: the same 8 one process with batch 8 takes, in order.
  EXPECT_EQ(shard_of(8, 0, 2).begin, 0);
  EXPECT_EQ(shard_of(8, 0, 2).end, 4);
  EXPECT_EQ(shard_of(8, 1, 2).begin, 4);
  EXPECT_EQ(shard_of(8, 1, 2).end, 8);
  EXPECT_EQ(shard_of(5, 0, 1).size(), 5);
}

TEST(Shard, AShortLastBatchSplitsAsEvenlyAsItCanAndCoversEveryItemOnce) {
  for (int64_t count : {0, 1, 2, 3, 7, 10}) {
    for (int ranks : {1, 2, 3, 4}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const Shard s = shard_of(count, r, ranks);
        EXPECT_EQ(s.begin, next) << count << " items, rank " << r << " of " << ranks;
        EXPECT_TRUE(s.size() == count / ranks || s.size() == count / ranks + 1);
        next = s.end;
      }
      EXPECT_EQ(next, count);
    }
  }
  // 3 items on 2 ranks: the larger share last; 1 item on 2 ranks: rank 0 has none and still takes part.
  EXPECT_EQ(shard_of(3, 0, 2).size(), 1);
  EXPECT_EQ(shard_of(3, 1, 2).size(), 2);
  EXPECT_EQ(shard_of(1, 0, 2).size(), 0);
}

}  // namespace
}  // namespace whet::dist
