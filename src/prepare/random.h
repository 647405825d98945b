#pragma once
// Randomness that depends only on the seed and the record, never on the order
// or the thread the record is processed in, so reruns are byte-identical.
// mt19937_64's output is fixed by the standard; the distributions are ours,
// since the standard library's differ between implementations.
#include <cstdint>
#include <random>

#include <xxhash.h>

namespace whet {

inline std::mt19937_64 record_rng(uint64_t seed, uint64_t record_id, uint64_t salt) {
  const uint64_t key[3] = {seed, record_id, salt};
  return std::mt19937_64(XXH3_64bits(key, sizeof key));
}

inline double unit_random(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }  // [0, 1)

inline uint64_t below(std::mt19937_64& rng, uint64_t n) { return uint64_t(unit_random(rng) * double(n)); }  // [0, n)

}  // namespace whet
