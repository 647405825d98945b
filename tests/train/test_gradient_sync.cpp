#include "train/gradient_sync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace whet {
namespace {

// A world of two ranks whose other rank holds the same gradients as this one:
// a sum doubles every value. It records the length of each allreduce as it starts.
class MirroredPair final : public dist::Communicator {
 public:
  std::vector<size_t> started;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void allreduce_sum(std::span<float> v) override { double_all(v); }
  void allreduce_sum(std::span<double> v) override {
    for (double& x : v) x *= 2;
  }
  void allreduce_max(std::span<double>) override {}
  std::unique_ptr<dist::PendingCollective> start_allreduce_sum(std::span<float> v) override {
    started.push_back(v.size());
    return std::make_unique<Doubling>(v);
  }
  void broadcast(std::span<std::byte>, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int) override { std::abort(); }

 private:
  static void double_all(std::span<float> v) {
    for (float& x : v) x *= 2;
  }
  // Completes at wait(), as MPI may: the buffer must not be read back before.
  class Doubling final : public dist::PendingCollective {
   public:
    explicit Doubling(std::span<float> v) : v_(v) {}
    bool test() override { return done_; }
    void wait() override {
      if (!done_) double_all(v_);
      done_ = true;
    }

   private:
    std::span<float> v_;
    bool done_ = false;
  };
};

struct Tensors {
  std::vector<std::vector<float>> values, grads;
  std::vector<Parameter> parameters;
  void add(const std::string& name, int64_t numel, float grad) {
    values.emplace_back(size_t(numel), 0.0f);
    grads.emplace_back(size_t(numel), grad);
  }
  void finish(const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i)
      parameters.push_back({names[i], values[i].data(), grads[i].data(), int64_t(values[i].size())});
  }
};

TEST(GradientSync, BucketsStartLastBlockFirstAsBlocksFinishAndTheRestAtTheEnd) {
  Tensors t;
  const std::vector<std::string> names{"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_up.weight",
                                       "blk.1.attn_q.weight", "blk.2.attn_q.weight", "output_norm.weight"};
  const std::vector<int64_t> sizes{5, 3, 3, 4, 6, 2};
  for (size_t i = 0; i < names.size(); ++i) t.add(names[i], sizes[i], float(i + 1));
  t.finish(names);
  MirroredPair world;
  // Buckets of at least 5 floats, whole blocks: {blk.2} (6), {blk.1, blk.0} (4 + 6), {embeddings, final norm} (7).
  GradientSync sync(world, t.parameters, 5);
  EXPECT_EQ(sync.bucket_count(), 3u);
  sync.block_done(2);
  EXPECT_EQ(world.started, (std::vector<size_t>{6}));
  sync.block_done(1);  // blk.1's bucket also waits for blk.0
  EXPECT_EQ(world.started.size(), 1u);
  sync.block_done(0);
  EXPECT_EQ(world.started, (std::vector<size_t>{6, 10}));
  sync.finish();
  EXPECT_EQ(world.started, (std::vector<size_t>{6, 10, 7}));
  for (size_t i = 0; i < names.size(); ++i)
    for (float g : t.grads[i]) EXPECT_EQ(g, 2.0f * float(i + 1)) << names[i];
}

TEST(GradientSync, ARankWhoseBackwardNeverRanStartsEveryBucketInTheSameOrder) {
  Tensors t;
  const std::vector<std::string> names{"blk.0.attn_q.lora_a", "blk.1.attn_q.lora_a", "score.weight"};
  for (const std::string& n : names) t.add(n, 2, 1.0f);
  t.finish(names);
  MirroredPair world;
  GradientSync sync(world, t.parameters, 1);
  sync.finish();  // no block_done: no sequence on this rank
  EXPECT_EQ(world.started, (std::vector<size_t>{2, 2, 2}));
  for (const auto& g : t.grads) EXPECT_EQ(g, (std::vector<float>{2.0f, 2.0f}));
  // The next step starts again from the first bucket.
  sync.block_done(1);
  EXPECT_EQ(world.started.size(), 4u);
  sync.finish();
  EXPECT_TRUE(sync.plans(t.parameters));
  t.parameters.pop_back();
  EXPECT_FALSE(sync.plans(t.parameters));
}

}  // namespace
}  // namespace whet
