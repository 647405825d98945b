#include "tune/random_sampler.h"

#include <xxhash.h>

#include "prepare/random.h"
#include "tune/numeric_scale.h"

namespace whet::tune {

std::mt19937_64 trial_rng(uint64_t seed, int64_t number, std::string_view purpose) {
  return record_rng(seed, static_cast<uint64_t>(number), XXH3_64bits(purpose.data(), purpose.size()));
}

namespace {

// One value of `distribution`, uniform on its scale (internal form).
double sample_uniform(const Distribution& distribution, std::mt19937_64& rng) {
  if (distribution.kind == Distribution::Kind::Categorical) return double(below(rng, distribution.choices.size()));
  const Scale scale = scale_of(distribution);
  return from_scale(distribution, scale.low + unit_random(rng) * (scale.high - scale.low));
}

}  // namespace

std::map<std::string, double> RandomSampler::sample(const SearchSpace& space, std::span<const Trial>, Direction,
                                                    int64_t number) const {
  std::map<std::string, double> values;
  for (const Parameter& parameter : space.parameters) {
    if (!is_active(parameter, values)) continue;
    std::mt19937_64 rng = trial_rng(seed_, number, parameter.name);
    values[parameter.name] = sample_uniform(parameter.distribution, rng);
  }
  return values;
}

}  // namespace whet::tune
