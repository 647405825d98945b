#include "prepare/dedup.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <numeric>
#include <unordered_map>

#include "prepare/minhash.h"
#include "prepare/stages.h"

namespace whet {
namespace {

// Union-find whose root is always the smallest index, so clusters are named
// the same way whatever order the pairs come in.
struct Clusters {
  std::vector<size_t> parent;
  explicit Clusters(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), size_t(0)); }
  size_t root(size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(size_t a, size_t b) {
    a = root(a), b = root(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

// Clusters among the LSH candidates (items numbered as in band_keys) whose
// similarity reaches the threshold.
struct Clustering {
  std::vector<size_t> cluster;  // per item: the smallest index in its cluster
  size_t joins = 0;             // confirmed pairs that joined two clusters
};

Clustering cluster_candidates(std::span<const uint64_t> band_keys, const DedupConfig& config,
                              const std::function<double(uint32_t, uint32_t)>& similarity) {
  const size_t items = band_keys.size() / size_t(config.bands);
  Clustering out;
  Clusters clusters(items);
  for_each_lsh_candidate(band_keys, config.bands, [&](uint32_t a, uint32_t b) {
    if (clusters.root(a) == clusters.root(b)) return;  // joined already, through this pair or others
    if (similarity(a, b) < config.threshold) return;
    clusters.join(a, b);
    ++out.joins;
  });
  out.cluster.resize(items);
  for (size_t i = 0; i < items; ++i) out.cluster[i] = clusters.root(i);
  return out;
}

// Texts are hashed, not kept: on a hash match both records are read back and
// compared, since a collision is not a duplicate.
void drop_exact(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger) {
  std::unordered_map<uint64_t, size_t> first;  // hash -> index of the first record with it
  std::vector<Reason> reasons(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto [it, inserted] = first.emplace(keys[i].text_hash, i);
    if (!inserted && record_text(spool.read(keys[it->second])) == record_text(spool.read(keys[i])))
      reasons[i] = {"exact duplicate", "of " + spool.where(keys[it->second])};
  }
  drop_marked(keys, spool, ledger, reasons);
}

void near_duplicates(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger) {
  const DedupConfig& config = spool.dedup();
  std::vector<uint64_t> band_keys;
  band_keys.reserve(keys.size() * size_t(config.bands));
  for (const RecordKey& key : keys) {
    const std::span<const uint64_t> bands = spool.band_keys(key);
    band_keys.insert(band_keys.end(), bands.begin(), bands.end());
  }
  auto similarity = [&](size_t a, size_t b) {
    return estimated_jaccard(spool.signature(keys[a]), spool.signature(keys[b]));
  };
  const Clustering near = cluster_candidates(band_keys, config, similarity);
  std::unordered_map<size_t, size_t> members, kept;  // cluster -> members, record kept
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t c = near.cluster[i];
    ++members[c];
    auto [it, inserted] = kept.emplace(c, i);
    if (!inserted && config.keep == "longest" && keys[i].text_bytes > keys[it->second].text_bytes) it->second = i;
  }
  size_t clusters = 0;
  for (const auto& [c, n] : members) clusters += n > 1;
  ledger.current().counts["near-duplicate clusters"] = clusters;
  ledger.current().counts["near-duplicate pairs joined"] = near.joins;
  std::vector<Reason> reasons(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t keeper = kept[near.cluster[i]];
    keys[i].group = keys[keeper].id;
    if (keeper == i || config.near != "drop") continue;
    reasons[i] = {"near duplicate",
                  fmt::format("of {} (estimated similarity {:.2f})", spool.where(keys[keeper]), similarity(i, keeper))};
  }
  drop_marked(keys, spool, ledger, reasons);
}

}  // namespace

std::vector<uint32_t> text_signature(std::string_view text, const DedupConfig& config, uint64_t seed) {
  return minhash_signature(shingle_hashes(text, config.shingle), config.permutations, seed);
}

NearDuplicates find_near_duplicates(const std::vector<std::string>& texts, const DedupConfig& config, uint64_t seed) {
  std::vector<std::vector<uint32_t>> signatures(texts.size());
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < texts.size(); ++i) signatures[i] = text_signature(texts[i], config, seed);
  return cluster_signatures(std::move(signatures), config);
}

NearDuplicates cluster_signatures(std::vector<std::vector<uint32_t>> signatures, const DedupConfig& config) {
  std::vector<uint64_t> band_keys;
  for (const std::vector<uint32_t>& signature : signatures) {
    const std::vector<uint64_t> bands = lsh_band_keys(signature, config.bands);
    band_keys.insert(band_keys.end(), bands.begin(), bands.end());
  }
  Clustering clustering = cluster_candidates(band_keys, config, [&](uint32_t a, uint32_t b) {
    return estimated_jaccard(signatures[a], signatures[b]);
  });
  return NearDuplicates{std::move(clustering.cluster), std::move(signatures), clustering.joins};
}

void dedup_stage(std::vector<RecordKey>& keys, const Spool& spool, Ledger& ledger) {
  const DedupConfig& config = spool.dedup();
  ledger.begin(stage_name(Stage::Dedup), keys.size());
  for (RecordKey& key : keys) key.group = key.id;
  if (config.exact) drop_exact(keys, spool, ledger);
  if (config.near != "off") near_duplicates(keys, spool, ledger);
  ledger.end(keys.size());
}

}  // namespace whet
