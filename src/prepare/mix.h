#pragma once
// Mixing sources by weight, on the training split only (validation and test
// keep the natural mix, and copies cannot straddle the split): a record of a
// source with weight w appears floor(w) times, plus once more with probability
// frac(w), drawn per record from the seed. Weight 0.5 keeps about half; 2 doubles.
#include <cstdint>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"

namespace whet {

// How many times a record of weight `weight` appears, given a uniform draw u in [0, 1).
size_t copies_for_weight(double weight, double u);

void mix_stage(std::vector<Record>& train, const std::vector<SourceConfig>& sources, uint64_t seed, Ledger& ledger);

}  // namespace whet
