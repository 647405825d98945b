// BM25: terms (case folding, Unicode letters), a hand-computed example, and the
// inverted index held to a direct evaluation of the formula over every document.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "prepare/bm25.h"

namespace whet {
namespace {

using Terms = std::vector<std::string>;

TEST(Bm25, TermsAreCaseFoldedRunsOfLettersAndDigits) {
  EXPECT_EQ(bm25_terms("Hello, World! It's 2024; e-mail x²."),
            (Terms{"hello", "world", "it", "s", "2024", "e", "mail", "x²"}));
  // Full case folding (ß is ss), composed accents, letters of any script.
  EXPECT_EQ(bm25_terms("Straße STRASSE Ünïcödé ΣΟΦΊΑ 東京タワー"),
            (Terms{"strasse", "strasse", "ünïcödé", "σοφία", "東京タワー"}));
  // A combining mark stays in its word: a decomposed é is the composed one, a Devanagari vowel sign no break.
  EXPECT_EQ(bm25_terms("Cafe\u0301 café नमस्ते"), (Terms{"café", "café", "नमस्ते"}));
  EXPECT_EQ(bm25_terms("ab\xff" "cd \xe6\x97"), (Terms{"ab", "cd"}));  // bytes that are not UTF-8 separate terms
  EXPECT_TRUE(bm25_terms(" ,.!? \u0301").empty());
}

TEST(Bm25, HandComputedThreeDocuments) {
  // Lengths 3, 6 and 3 terms: avgdl 4, N 3; k1 1.2, b 0.75.
  const Bm25Index index({"the cat sat", "The dog sat on the mat", "cats and dogs"});
  EXPECT_EQ(index.size(), 3u);

  // "cat" is in one document: idf ln(1 + 2.5/1.5) = ln(8/3). Document 0 has
  // dl/avgdl 3/4, so its length norm is 0.25 + 0.75 * 0.75 = 0.8125 and the
  // saturated tf 2.2 / (1 + 1.2 * 0.8125) = 2.2 / 1.975.
  const auto cat = index.search("cat", 10);
  ASSERT_EQ(cat.size(), 1u);
  EXPECT_EQ(cat[0].document, 0u);
  EXPECT_NEAR(cat[0].score, std::log(8.0 / 3.0) * 2.2 / 1.975, 1e-12);

  // "sat" and "the" are each in two documents: idf ln(1 + 1.5/2.5) = ln(1.6).
  // Document 0: both once, 2 * ln(1.6) * 2.2/1.975 = 1.0471. Document 1 (norm
  // 0.25 + 0.75 * 1.5 = 1.375, so k1 * norm = 1.65): "sat" once, 2.2/2.65, and
  // "the" twice, 2 * 2.2/3.65: ln(1.6) * (2.2/2.65 + 4.4/3.65) = 0.9568.
  const auto sat_the = index.search("sat THE", 10);
  ASSERT_EQ(sat_the.size(), 2u);
  EXPECT_EQ(sat_the[0].document, 0u);
  EXPECT_NEAR(sat_the[0].score, 2 * std::log(1.6) * 2.2 / 1.975, 1e-12);
  EXPECT_EQ(sat_the[1].document, 1u);
  EXPECT_NEAR(sat_the[1].score, std::log(1.6) * (2.2 / 2.65 + 4.4 / 3.65), 1e-12);

  // A query term counts once per occurrence.
  EXPECT_NEAR(index.search("cat cat", 1)[0].score, 2 * cat[0].score, 1e-12);
}

TEST(Bm25, AbsentTermsAndEmptyQueriesFindNothing) {
  const Bm25Index index({"the cat sat", "the dog"});
  EXPECT_TRUE(index.search("unicorn", 5).empty());
  EXPECT_TRUE(index.search("", 5).empty());
  EXPECT_TRUE(index.search("?!", 5).empty());
  EXPECT_TRUE(index.search("cat", 0).empty());
  const auto with_absent = index.search("unicorn cat", 5);
  ASSERT_EQ(with_absent.size(), 1u);
  EXPECT_EQ(with_absent[0].document, 0u);
  EXPECT_DOUBLE_EQ(with_absent[0].score, index.search("cat", 5)[0].score);

  const Bm25Index empty({});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.search("cat", 5).empty());
  const Bm25Index no_terms({"", "..."});
  EXPECT_EQ(no_terms.size(), 2u);
  EXPECT_TRUE(no_terms.search("cat", 5).empty());
}

TEST(Bm25, CaseFoldingAndUnicodeLettersMatch) {
  const Bm25Index index({"Die STRASSE in Zürich", "the street", "ZÜRICH Hauptbahnhof", "東京 タワー"});
  const auto hits = index.search("straße zürich", 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document, 0u);
  EXPECT_EQ(hits[1].document, 2u);
  const auto tokyo = index.search("東京", 10);
  ASSERT_EQ(tokyo.size(), 1u);
  EXPECT_EQ(tokyo[0].document, 3u);
}

TEST(Bm25, KLargerThanTheMatchesAndTiesByIndex) {
  const Bm25Index index({"a b", "c", "a b", "d a"});
  const auto hits = index.search("b", 100);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document, 0u);
  EXPECT_EQ(hits[1].document, 2u);
  EXPECT_EQ(hits[0].score, hits[1].score);
  const auto best = index.search("b", 1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].document, 0u);
  EXPECT_EQ(index.search("a", 100).size(), 3u);
}

// The formula evaluated directly: every query term against every document.
std::vector<Bm25Hit> reference_search(const std::vector<Terms>& documents, const Terms& query, size_t k, double k1,
                                      double b) {
  const double n_documents = double(documents.size());
  double total_length = 0;
  for (const Terms& d : documents) total_length += double(d.size());
  const double average_length = total_length / n_documents;
  std::vector<double> idf;  // per query term
  for (const std::string& term : query) {
    double containing = 0;
    for (const Terms& d : documents) containing += std::find(d.begin(), d.end(), term) != d.end();
    idf.push_back(std::log(1 + (n_documents - containing + 0.5) / (containing + 0.5)));
  }
  std::vector<Bm25Hit> hits;
  for (size_t i = 0; i < documents.size(); ++i) {
    double score = 0;
    for (size_t t = 0; t < query.size(); ++t) {
      const double tf = double(std::count(documents[i].begin(), documents[i].end(), query[t]));
      if (tf == 0) continue;
      const double length_norm = 1 - b + b * double(documents[i].size()) / average_length;
      score += idf[t] * (tf * (k1 + 1) / (tf + k1 * length_norm));
    }
    if (score > 0) hits.push_back({i, score});
  }
  std::stable_sort(hits.begin(), hits.end(), [](const Bm25Hit& x, const Bm25Hit& y) { return x.score > y.score; });
  hits.resize(std::min(k, hits.size()));
  return hits;
}

TEST(Bm25, MatchesTheDirectFormulaOnAGeneratedCorpus) {
  std::mt19937_64 rng(5);
  // Skewed word frequencies, as in text: some words in most documents, most in few.
  std::vector<std::string> vocabulary;
  for (int i = 0; i < 200; ++i) vocabulary.push_back("w" + std::to_string(i));
  auto random_word = [&] {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return vocabulary[size_t(double(vocabulary.size()) * u * u * u)];
  };
  for (const auto& [k1, b] : {std::pair{1.2, 0.75}, {2.0, 0.0}, {0.0, 1.0}, {0.9, 0.4}}) {
    std::vector<std::string> texts;
    std::vector<Terms> documents;
    for (int d = 0; d < 300; ++d) {
      std::string text;
      for (size_t w = 0, n = rng() % 60; w < n; ++w) text += (w % 7 == 3 ? ", W" : " w") + random_word().substr(1);
      texts.push_back(text);
      documents.push_back(bm25_terms(text));
    }
    const Bm25Index index(texts, k1, b);
    ASSERT_EQ(index.size(), texts.size());
    for (int q = 0; q < 60; ++q) {
      std::string query;
      for (size_t w = 0, n = 1 + rng() % 6; w < n; ++w) query += (rng() % 5 == 0 ? " absent" : " ") + random_word();
      const size_t k = std::vector<size_t>{1, 5, 20, 1000}[rng() % 4];
      const auto expected = reference_search(documents, bm25_terms(query), k, k1, b);
      const auto got = index.search(query, k);
      ASSERT_EQ(got.size(), expected.size()) << query;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].document, expected[i].document) << query << " rank " << i;
        EXPECT_NEAR(got[i].score, expected[i].score, 1e-12) << query << " rank " << i;
      }
    }
  }
}

}  // namespace
}  // namespace whet
