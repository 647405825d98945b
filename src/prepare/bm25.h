#pragma once
// Okapi BM25 over chunk texts, for retrieval-assisted synthesis: which passages
// to put beside a prompt. An inverted index, so a query costs the postings of
// its terms, not a pass over every document.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whet {

// Runs of letters and digits (Unicode categories L* and N*, with the combining
// marks M* that follow them, so a decomposed accent or a Devanagari vowel sign
// stays inside its word), composed (NFC) and case-folded by utf8proc. Bytes
// that are not UTF-8 separate terms.
std::vector<std::string> bm25_terms(std::string_view text);

struct Bm25Hit {
  size_t document;
  double score;
};

class Bm25Index {
 public:
  // k1 >= 0 saturates term frequency; b in [0, 1] normalises by document length.
  explicit Bm25Index(const std::vector<std::string>& documents, double k1 = 1.2, double b = 0.75);

  // The k best documents for the query, best first; ties by lower index;
  // documents scoring 0 are left out. A term's weight is the Lucene/Robertson
  // idf ln(1 + (N - n + 0.5) / (n + 0.5)) times tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)),
  // summed over the query's terms, a repeated term once per occurrence.
  std::vector<Bm25Hit> search(std::string_view query, size_t k) const;
  size_t size() const;

 private:
  struct Posting {
    uint32_t document;
    uint32_t frequency;
  };
  double k1_, b_;
  std::vector<uint32_t> lengths_;  // per document: its number of terms
  double average_length_ = 0;
  std::unordered_map<std::string, std::vector<Posting>> postings_;  // by document, ascending
};

}  // namespace whet
