// MinHash and deduplication: exact Jaccard by hand, the estimate close to it,
// LSH finding near pairs and not distant ones, clusters, and the stage.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "prepare/dedup.h"
#include "prepare/minhash.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

TEST(DataPipelineMinHash, ShinglesAndExactJaccard) {
  // "abcde" with k=3: abc, bcd, cde. "abcdf": abc, bcd, cdf. Shared 2 of 4 distinct: 0.5.
  const auto a = shingle_hashes("abcde", 3), b = shingle_hashes("ABCDF", 3);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_DOUBLE_EQ(jaccard(a, b), 0.5);
  // Case and runs of white space do not matter; a text shorter than k is one shingle.
  EXPECT_EQ(shingle_hashes("Hello   World", 4), shingle_hashes("hello world", 4));
  EXPECT_EQ(shingle_hashes("ab", 5).size(), 1u);
  EXPECT_TRUE(shingle_hashes(" ", 5).empty());
}

TEST(DataPipelineMinHash, EstimateIsCloseToJaccard) {
  // 200 distinct words; the second text swaps the last 40 for others: 160 shared words of 240 distinct.
  std::string a, b;
  for (int i = 0; i < 200; ++i) {
    a += fmt::format("w{} ", i);
    b += fmt::format("w{} ", i < 160 ? i : i + 1000);
  }
  const auto sa = shingle_hashes(a, 5), sb = shingle_hashes(b, 5);
  const double exact = jaccard(sa, sb);
  const double estimate = estimated_jaccard(minhash_signature(sa, 256, 1), minhash_signature(sb, 256, 1));
  EXPECT_GT(exact, 0.5);
  EXPECT_LT(exact, 0.8);
  // The estimate's standard deviation is sqrt(J(1-J)/256) < 0.032; allow four of them.
  EXPECT_NEAR(estimate, exact, 0.125);
  EXPECT_DOUBLE_EQ(estimated_jaccard(minhash_signature(sa, 64, 3), minhash_signature(sa, 64, 3)), 1.0);
}

TEST(DataPipelineMinHash, LshFindsNearPairsOnly) {
  const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog near the river bank today.",
      "The quick brown fox jumps over the lazy dog near the river bank today!",
      "Completely different sentence about tax forms and quarterly reports.",
  };
  std::vector<uint64_t> band_keys;
  for (const std::string& t : texts) {
    const std::vector<uint64_t> bands = lsh_band_keys(minhash_signature(shingle_hashes(t, 5), 128, 42), 16);
    band_keys.insert(band_keys.end(), bands.begin(), bands.end());
  }
  std::set<std::pair<uint32_t, uint32_t>> pairs;
  size_t visits = 0;
  for_each_lsh_candidate(band_keys, 16, [&](uint32_t a, uint32_t b) {
    pairs.emplace(a, b);
    ++visits;
  });
  EXPECT_EQ(pairs, (std::set<std::pair<uint32_t, uint32_t>>{{0, 1}}));
  EXPECT_GT(visits, 1u);  // the pair collides in more than one band
}

TEST(DataPipelineDedup, ClustersAreTransitive) {
  // a, b and c differ only in their last words: one cluster, named by its first member.
  std::string base;
  for (int i = 0; i < 60; ++i) base += fmt::format("token{} ", i);
  std::string a = base + "alpha", b = base + "alpha beta", c = base + "beta gamma";
  DedupConfig config;
  config.threshold = 0.85;
  const NearDuplicates near = find_near_duplicates({a, b, c, "unrelated words entirely"}, config, 42);
  EXPECT_EQ(near.cluster, (std::vector<size_t>{0, 0, 0, 3}));
}

TEST(DataPipelineDedup, StageDropsExactThenNearKeepingFirstOrLongest) {
  auto records = [] {
    return std::vector<Record>{
        test::completion("Summarise the quarterly report on regional sales figures", "Sales rose.", 0),
        test::completion("Summarise the quarterly report on regional sales figures", "Sales rose.", 1),  // exact
        test::completion("Summarise the quarterly report on regional sales figures.", "Sales rose.", 2),
        test::completion("Translate good morning into French", "Bonjour", 3),
    };
  };
  // The stage works on the records' keys in a spool, as in the pipeline.
  auto dedup = [&](const DedupConfig& config, Ledger& ledger) {
    Spool spool(test::data_scratch(), config, 42, "");
    spool.add(records());
    std::vector<RecordKey> keys = spool.take_keys();
    dedup_stage(keys, spool, ledger);
    return keys;
  };
  DedupConfig config;
  config.threshold = 0.7;
  Ledger ledger;
  const std::vector<RecordKey> first = dedup(config, ledger);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, 0u);
  EXPECT_EQ(first[1].id, 3u);
  const StageReport& s = ledger.stages().back();
  EXPECT_EQ(s.dropped.at("exact duplicate"), 1u);
  EXPECT_EQ(s.dropped.at("near duplicate"), 1u);
  EXPECT_EQ(ledger.dropped()[0].reason, "exact duplicate: of t.jsonl:1");
  EXPECT_EQ(ledger.dropped()[1].reason.rfind("near duplicate: of t.jsonl:1 (estimated similarity", 0), 0u);

  config.keep = "longest";
  const std::vector<RecordKey> longest = dedup(config, ledger);
  ASSERT_EQ(longest.size(), 2u);
  EXPECT_EQ(longest[0].id, 2u);

  config.near = "group";  // all kept, the pair named as one group for the split
  const std::vector<RecordKey> grouped = dedup(config, ledger);
  ASSERT_EQ(grouped.size(), 3u);
  EXPECT_EQ(grouped[0].group, grouped[1].group);
  EXPECT_NE(grouped[0].group, grouped[2].group);
}

}  // namespace
}  // namespace whet
