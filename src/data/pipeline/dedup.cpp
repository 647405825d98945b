#include "data/pipeline/dedup.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <atomic>
#include <numeric>
#include <unordered_map>

#include "data/pipeline/minhash.h"

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

// Texts are hashed, not kept: on a hash match both texts are made again and
// compared, since a collision is not a duplicate.
void drop_exact(std::vector<Record>& records, Ledger& ledger) {
  std::vector<uint64_t> hashes(records.size());
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string text = record_text(records[i]);
    hashes[i] = XXH3_64bits(text.data(), text.size());
  }
  std::unordered_map<uint64_t, size_t> first;  // hash -> index of the first record with it
  std::vector<Reason> reasons(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const auto [it, inserted] = first.emplace(hashes[i], i);
    if (!inserted && record_text(records[it->second]) == record_text(records[i]))
      reasons[i] = {"exact duplicate", "of " + records[it->second].example.where()};
  }
  drop_marked(records, ledger, reasons);
}

void near_duplicates(std::vector<Record>& records, const DedupConfig& config, uint64_t seed, Ledger& ledger,
                     const std::function<void(size_t, size_t)>& progress) {
  std::vector<std::vector<uint32_t>> signatures(records.size());
  std::vector<size_t> lengths(records.size());
  std::atomic<size_t> made = 0;
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string text = record_text(records[i]);
    lengths[i] = text.size();
    signatures[i] = text_signature(text, config, seed);
    const size_t done = ++made;
    if (progress && done % 8192 == 0) {
#pragma omp critical(whet_dedup_progress)  // the callback need not be thread-safe
      progress(done, records.size());
    }
  }
  if (progress) progress(records.size(), records.size());
  const NearDuplicates near = cluster_signatures(std::move(signatures), config);
  std::unordered_map<size_t, size_t> members, kept;  // cluster -> members, record kept
  for (size_t i = 0; i < records.size(); ++i) {
    const size_t c = near.cluster[i];
    ++members[c];
    auto [it, inserted] = kept.emplace(c, i);
    if (!inserted && config.keep == "longest" && lengths[i] > lengths[it->second]) it->second = i;
  }
  size_t clusters = 0;
  for (const auto& [c, n] : members) clusters += n > 1;
  ledger.current().counts["near-duplicate clusters"] = clusters;
  ledger.current().counts["near-duplicate pairs joined"] = near.joins;
  std::vector<Reason> reasons(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const size_t keeper = kept[near.cluster[i]];
    records[i].group = records[keeper].id;
    if (keeper == i || config.near != "drop") continue;
    reasons[i] = {"near duplicate", fmt::format("of {} (estimated similarity {:.2f})", records[keeper].example.where(),
                                                estimated_jaccard(near.signatures[i], near.signatures[keeper]))};
  }
  drop_marked(records, ledger, reasons);
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
  NearDuplicates out;
  Clusters clusters(signatures.size());
  for_each_lsh_candidate(signatures, config.bands, [&](uint32_t a, uint32_t b) {
    if (clusters.root(a) == clusters.root(b)) return;  // joined already, through this pair or others
    if (estimated_jaccard(signatures[a], signatures[b]) < config.threshold) return;
    clusters.join(a, b);
    ++out.joins;
  });
  out.cluster.resize(signatures.size());
  for (size_t i = 0; i < signatures.size(); ++i) out.cluster[i] = clusters.root(i);
  out.signatures = std::move(signatures);
  return out;
}

void dedup_stage(std::vector<Record>& records, const DedupConfig& config, uint64_t seed, Ledger& ledger,
                 const std::function<void(size_t, size_t)>& progress) {
  ledger.begin("dedup", records.size());
  for (Record& r : records) r.group = r.id;
  if (config.exact) drop_exact(records, ledger);
  if (config.near != "off") near_duplicates(records, config, seed, ledger, progress);
  ledger.end(records.size());
}

}  // namespace whet
