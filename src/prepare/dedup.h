#pragma once
// Deduplication: exact (the same text after normalisation, found by XXH3 hash
// and confirmed by comparison) and near (MinHash + LSH over character
// shingles, pairs confirmed by the estimated Jaccard similarity, clusters by
// union-find so that A~B and B~C put all three together).
#include <string>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/spool.h"

namespace whet {

struct NearDuplicates {
  std::vector<size_t> cluster;                   // per text: the smallest index in its cluster
  std::vector<std::vector<uint32_t>> signatures;  // per text: its MinHash signature
  size_t joins = 0;                              // confirmed pairs that joined two clusters
};

// The MinHash signature of a text under the config's shingle size and permutations.
std::vector<uint32_t> text_signature(std::string_view text, const DedupConfig& config, uint64_t seed);
// Clusters of signatures whose estimated Jaccard similarity reaches the threshold.
NearDuplicates cluster_signatures(std::vector<std::vector<uint32_t>> signatures, const DedupConfig& config);
NearDuplicates find_near_duplicates(const std::vector<std::string>& texts, const DedupConfig& config, uint64_t seed);

// The stage, over the spooled records in reading order: exact duplicates
// dropped, then near duplicates dropped (keeping the first or the longest of a
// cluster) or grouped (RecordKey::group set to the cluster's keeper, for the
// split to keep together). Records are read back only to confirm an exact
// match and signatures only to confirm a candidate pair.
void dedup_stage(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger);

}  // namespace whet
