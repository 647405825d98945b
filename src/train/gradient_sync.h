#pragma once
// The gradient sum of a data-parallel step, as PyTorch DDP makes it: the
// trainable tensors are grouped into buckets of whole blocks, last block first,
// and a bucket's allreduce starts as soon as the backward of the last sequence
// on this rank has finished its lowest block, while the blocks below it still
// run their backward. What no block owns (embeddings, the LM head, final norm,
// a classification head) goes last. Every rank starts the same buckets in the
// same order, so a rank with fewer sequences (or none) still takes part.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"
#include "train/parameter.h"

namespace whet {

class GradientSync {
 public:
  // About 4 MB of fp32 per bucket: big enough that a message's fixed cost is
  // small, small enough that the first buckets start early in the backward.
  static constexpr int64_t kBucketFloats = int64_t(1) << 20;

  GradientSync(dist::Communicator& world, const std::vector<Parameter>& parameters,
               int64_t bucket_floats = kBucketFloats);
  ~GradientSync();

  // Whether this plan was made for `parameters` (gradual unfreezing changes the list).
  bool plans(const std::vector<Parameter>& parameters) const;

  // The backward hook: block `layer`'s gradients are complete on this rank.
  // Starts the buckets that are now ready and lets the running ones progress.
  void block_done(int layer);
  // After the last backward of the step: starts what is left, waits for every
  // bucket and writes the sums back into the gradients. Returns the seconds spent waiting.
  double finish();

  size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> parameters;  // indices into parameters_
    int64_t offset = 0, floats = 0;  // in flat_
    int lowest_block = -1;           // ready once this block is done; -1: only at finish
    std::unique_ptr<dist::PendingCollective> pending;
  };
  void start(Bucket& bucket);

  dist::Communicator& world_;
  std::vector<Parameter> parameters_;
  std::vector<Bucket> buckets_;  // in the order they start
  size_t next_ = 0;              // the first bucket not started this step
  std::vector<float> flat_;      // every bucket's sums, side by side
};

}  // namespace whet
