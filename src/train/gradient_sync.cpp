#include "train/gradient_sync.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "train/trainable.h"

namespace whet {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

GradientSync::GradientSync(dist::Communicator& world, const std::vector<Parameter>& parameters,
                           int64_t bucket_floats)
    : world_(world), parameters_(parameters) {
  std::set<const float*> grads;
  for (const Parameter& p : parameters_) WHET_ASSERT(grads.insert(p.grad).second);  // tied tensors listed once
  // Last block first; within a block, the order of the list. Unblocked tensors last.
  std::vector<size_t> order(parameters_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return block_of(parameters_[a].name) > block_of(parameters_[b].name);
  });
  int64_t offset = 0;
  for (size_t k = 0; k < order.size();) {
    Bucket bucket;
    bucket.offset = offset;
    const int first_block = block_of(parameters_[order[k]].name);
    // A bucket takes whole blocks (or only unblocked tensors) until it holds bucket_floats.
    while (k < order.size()) {
      const int block = block_of(parameters_[order[k]].name);
      if ((block < 0) != (first_block < 0)) break;
      if (bucket.floats >= bucket_floats && block != bucket.lowest_block) break;
      bucket.parameters.push_back(order[k]);
      bucket.floats += parameters_[order[k]].numel;
      bucket.lowest_block = block;
      ++k;
    }
    offset += bucket.floats;
    buckets_.push_back(std::move(bucket));
  }
  flat_.resize(size_t(offset));
}

// flat_ goes before buckets_ (declared after it): a bucket's sum still running ends first.
GradientSync::~GradientSync() {
  for (Bucket& b : buckets_) b.pending.reset();
}

bool GradientSync::plans(const std::vector<Parameter>& parameters) const {
  if (parameters.size() != parameters_.size()) return false;
  for (size_t i = 0; i < parameters.size(); ++i)
    if (parameters[i].grad != parameters_[i].grad || parameters[i].numel != parameters_[i].numel) return false;
  return true;
}

void GradientSync::start(Bucket& bucket) {
  float* out = flat_.data() + bucket.offset;
  for (size_t i : bucket.parameters) {
    const Parameter& p = parameters_[i];
    std::copy(p.grad, p.grad + p.numel, out);
    out += p.numel;
  }
  bucket.pending = world_.start_allreduce_sum({flat_.data() + bucket.offset, size_t(bucket.floats)});
}

void GradientSync::block_done(int layer) {
  while (next_ < buckets_.size() && buckets_[next_].lowest_block >= 0 && buckets_[next_].lowest_block >= layer)
    start(buckets_[next_++]);
  // MPI moves a non-blocking collective forward only inside MPI calls.
  for (size_t i = 0; i < next_; ++i) buckets_[i].pending->test();
}

double GradientSync::finish() {
  while (next_ < buckets_.size()) start(buckets_[next_++]);
  const auto wait_start = Clock::now();
  for (Bucket& bucket : buckets_) {
    bucket.pending->wait();
    bucket.pending.reset();
    const float* in = flat_.data() + bucket.offset;
    for (size_t i : bucket.parameters) {
      const Parameter& p = parameters_[i];
      std::copy(in, in + p.numel, p.grad);
      in += p.numel;
    }
  }
  next_ = 0;
  return std::chrono::duration<double>(Clock::now() - wait_start).count();
}

}  // namespace whet
