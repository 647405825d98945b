#pragma once
// Train/validation/test split: seeded, stratified by label when the data is
// labelled, and by group, so that a near-duplicate cluster lands on one side
// and cannot leak across the split.
#include <array>
#include <string>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/spool.h"

namespace whet {

enum class Split { Train, Validation, Test };
constexpr std::array<std::string_view, 3> kSplitNames = {"train", "validation", "test"};

// Records asked for by a share (below 1: round(share * n)) or a count (1 or more), at most n.
size_t split_target(double share, size_t n);

// Splits `total` units over strata in proportion to their sizes: floor shares,
// then one more each to the largest remainders (ties: the earlier stratum).
std::vector<size_t> apportion(size_t total, const std::vector<size_t>& stratum_sizes);

// Assigns every record to a split. `strata` and `groups` are per record (a group
// is named by any number; records sharing it go together, and a group belongs to
// the stratum of its first record). Test is filled first, then validation, from
// each stratum's groups in seeded order; a group that does not fit what is left
// of a quota is passed over for a smaller one.
std::vector<Split> assign_splits(const std::vector<std::string>& strata, const std::vector<size_t>& groups,
                                 const SplitConfig& config, uint64_t seed);

using SplitKeys = std::array<std::vector<RecordKey>, 3>;  // by Split, each in reading order

// The stage, over the spooled records in reading order. Model-made records
// (train_only) go to train, except one in the group of a held-out record.
SplitKeys split_stage(std::vector<RecordKey> keys, const Spool& spool, const SplitConfig& config,
                      const std::string& label_field, uint64_t seed, Ledger& ledger);

}  // namespace whet
