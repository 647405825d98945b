// Fisher-Yates over an index permutation, so callers reorder whatever they hold.
#include "data/shuffle.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

namespace whet {
namespace {

// Uniform in [0, bound), without the bias of a bare modulo: values below
// 2^64 mod bound are redrawn, so every residue has the same number of sources.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

std::vector<size_t> shuffled_order(size_t count, uint64_t seed) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
  return order;
}

ValidationSplit split_validation(size_t count, double fraction, uint64_t seed) {
  if (!(fraction >= 0 && fraction < 1)) fail("data", "val_set_size must be a fraction in [0, 1), not {}", fraction);
  const size_t held_out = fraction == 0 ? 0 : std::max<size_t>(1, size_t(std::llround(fraction * double(count))));
  if (held_out > 0 && held_out >= count)
    fail("data", "val_set_size {} of {} examples leaves nothing to train on", fraction, count);
  const std::vector<size_t> order = shuffled_order(count, seed);
  ValidationSplit split;
  split.validation.assign(order.begin(), order.begin() + held_out);
  std::sort(split.validation.begin(), split.validation.end());
  split.train.assign(order.begin() + held_out, order.end());
  return split;
}

}  // namespace whet
