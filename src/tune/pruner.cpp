#include "tune/pruner.h"

#include "core/error.h"
#include "tune/median_pruner.h"
#include "tune/successive_halving_pruner.h"

namespace whet::tune {

std::unique_ptr<Pruner> make_pruner(PrunerKind kind, std::string metric, const MedianPrunerOptions& median,
                                    const SuccessiveHalvingOptions& halving) {
  switch (kind) {
    case PrunerKind::None:
      return nullptr;
    case PrunerKind::Median:
      return std::make_unique<MedianPruner>(std::move(metric), median);
    case PrunerKind::SuccessiveHalving:
      return std::make_unique<SuccessiveHalvingPruner>(std::move(metric), halving);
  }
  WHET_ASSERT(false);
}

}  // namespace whet::tune
