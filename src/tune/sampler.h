#pragma once
// What picks the next trial's parameters (docs/tune.md, "Samplers"). A sampler
// is a pure function of the space, the study's trials so far, the direction,
// the study seed and the new trial's number: a study resumed after a crash
// samples what it would have sampled.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tune/search_space.h"
#include "tune/trial.h"

namespace whet::tune {

class Sampler {
 public:
  virtual ~Sampler() = default;

  // The internal values (trial.h) of the parameters trial `number` searches:
  // those whose `when` holds for the values sampled before them; the others
  // are left out. `history` is the study's other trials in any state and
  // order (trial `number` itself, if there, is passed over): complete and
  // pruned ones guide the search, running ones are avoided (TPE's constant
  // liar, the grid's points taken), failed ones only take their grid point.
  virtual std::map<std::string, double> sample(const SearchSpace& space, std::span<const Trial> history,
                                               Direction direction, int64_t number) const = 0;

  // How many distinct settings the sampler enumerates (the grid's points, after
  // which it repeats), or nullopt for one that draws without end.
  virtual std::optional<std::size_t> size(const SearchSpace& space) const = 0;
};

// The trials of `history` but trial `number`, which a study may already hold
// (running) while it is sampled: a trial is no evidence about itself.
std::vector<Trial> other_trials(std::span<const Trial> history, int64_t number);

// Optuna's TPESampler defaults.
struct TpeOptions {
  int n_startup_trials = 10;  // random sampling until this many trials are complete or pruned
  int n_ei_candidates = 24;   // candidates drawn from l(x), the best one by l(x)/g(x) taken
  // Parameters under the same condition sampled jointly, as Optuna's default
  // multivariate TPE with group decomposition; false: each on its own.
  bool multivariate = true;
  double prior_weight = 1.0;
};

enum class SamplerKind { Grid, Random, Tpe };
inline constexpr std::array<std::string_view, 3> kSamplerNames = {"grid", "random", "tpe"};  // SamplerKind's order

std::unique_ptr<Sampler> make_sampler(SamplerKind kind, uint64_t seed, const TpeOptions& tpe = {});

}  // namespace whet::tune
