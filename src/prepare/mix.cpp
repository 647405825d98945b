#include "prepare/mix.h"

#include <cmath>

#include <fmt/format.h>

#include "prepare/random.h"
#include "prepare/stages.h"

namespace whet {
namespace {

constexpr uint64_t kMixSalt = 0x6d6978;  // "mix": keeps these draws apart from augmentation's

}  // namespace

size_t copies_for_weight(double weight, double u) {
  const double whole = std::floor(weight);
  return size_t(whole) + (u < weight - whole ? 1 : 0);
}

void mix_stage(std::vector<Record>& train, const std::vector<SourceConfig>& sources, uint64_t seed, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Mix), train.size());
  std::vector<Record> mixed;
  mixed.reserve(train.size());
  for (Record& record : train) {
    const double weight = sources.at(record.source).weight;
    size_t copies = 1;
    if (weight != 1) {  // the common case needs no draw
      std::mt19937_64 rng = record_rng(seed, record.id, kMixSalt);
      copies = copies_for_weight(weight, unit_random(rng));
    }
    if (copies == 0) {
      ledger.drop(record, {"sampled out by source weight", fmt::format("weight {}", weight)});
      continue;
    }
    const size_t original = mixed.size();
    mixed.push_back(std::move(record));
    for (size_t c = 1; c < copies; ++c) {
      Record copy = mixed[original];
      copy.augmented = true;
      ledger.add(copy, {"copy for source weight", fmt::format("{} of {}, weight {}", c + 1, copies, weight)});
      mixed.push_back(std::move(copy));
    }
  }
  train = std::move(mixed);
  ledger.end(train.size());
}

}  // namespace whet
