#pragma once
// Seeded shuffling and the validation split. Written out (mt19937_64, whose
// output the standard fixes, and our own Fisher-Yates) rather than std::shuffle,
// whose result differs between standard libraries: a seed must select the same
// examples everywhere, or runs and their validation losses cannot be compared.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace whet {

// A permutation of 0..count-1 determined by `seed`.
std::vector<size_t> shuffled_order(size_t count, uint64_t seed);

struct ValidationSplit {
  std::vector<size_t> train;       // shuffled
  std::vector<size_t> validation;  // in ascending order
};

// Holds out round(fraction * count) indices (at least one when fraction > 0),
// chosen by `seed`; the rest are the training indices, shuffled. Throws
// whet::Error unless 0 <= fraction < 1 and some training index remains.
ValidationSplit split_validation(size_t count, double fraction, uint64_t seed);

}  // namespace whet
