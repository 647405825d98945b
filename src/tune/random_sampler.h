#pragma once
// Optuna's RandomSampler: each parameter uniform on its scale (numeric_scale.h)
// or over its choices, drawn from a stream of its own that follows from the
// study seed, the trial number and the parameter's name.
#include <cstdint>
#include <random>
#include <string_view>

#include "tune/sampler.h"

namespace whet::tune {

// The stream of draws for one trial and one use (a parameter's name, a TPE group's first parameter).
std::mt19937_64 trial_rng(uint64_t seed, int64_t number, std::string_view purpose);

class RandomSampler final : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}
  std::map<std::string, double> sample(const SearchSpace& space, std::span<const Trial> history, Direction direction,
                                       int64_t number) const override;
  std::optional<std::size_t> size(const SearchSpace&) const override { return std::nullopt; }

 private:
  uint64_t seed_;
};

}  // namespace whet::tune
