#include "tune/sampler.h"

#include "core/error.h"
#include "tune/grid_sampler.h"
#include "tune/random_sampler.h"
#include "tune/tpe_sampler.h"

namespace whet::tune {

std::vector<Trial> other_trials(std::span<const Trial> history, int64_t number) {
  std::vector<Trial> others;
  for (const Trial& t : history) {
    if (t.number != number) others.push_back(t);
  }
  return others;
}

std::unique_ptr<Sampler> make_sampler(SamplerKind kind, uint64_t seed, const TpeOptions& tpe) {
  switch (kind) {
    case SamplerKind::Grid:
      return std::make_unique<GridSampler>();
    case SamplerKind::Random:
      return std::make_unique<RandomSampler>(seed);
    case SamplerKind::Tpe:
      return std::make_unique<TpeSampler>(seed, tpe);
  }
  WHET_ASSERT(false);
}

}  // namespace whet::tune
