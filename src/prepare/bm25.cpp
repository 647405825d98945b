#include "prepare/bm25.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>

#include "core/error.h"
#include "core/utf8.h"

namespace whet {
namespace {

bool is_letter_or_digit(utf8proc_int32_t cp) {
  const utf8proc_category_t c = utf8proc_category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

bool is_mark(utf8proc_int32_t cp) {
  const utf8proc_category_t c = utf8proc_category(cp);
  return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

}  // namespace

std::vector<std::string> bm25_terms(std::string_view text) {
  // The runs joined by single spaces, so one utf8proc call folds them all:
  // a space is never folded into anything else, nor composed with a neighbour.
  std::string runs;
  bool in_run = false;
  for (const CodePoint& c : code_points(text)) {
    if (is_letter_or_digit(c.value) || (in_run && is_mark(c.value))) {
      if (!in_run && !runs.empty()) runs += ' ';
      runs.append(c.bytes);
      in_run = true;
    } else {
      in_run = false;
    }
  }
  if (runs.empty()) return {};

  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t folded_size =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(runs.data()), utf8proc_ssize_t(runs.size()), &mapped,
                   utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  WHET_ASSERT(folded_size >= 0);  // the runs are whole code points, re-read from valid UTF-8
  const std::string_view folded(reinterpret_cast<const char*>(mapped), size_t(folded_size));

  std::vector<std::string> terms;
  for (size_t start = 0; start <= folded.size();) {
    const size_t space = std::min(folded.find(' ', start), folded.size());
    terms.emplace_back(folded.substr(start, space - start));
    start = space + 1;
  }
  return terms;
}

Bm25Index::Bm25Index(const std::vector<std::string>& documents, double k1, double b) : k1_(k1), b_(b) {
  WHET_ASSERT(k1 >= 0 && b >= 0 && b <= 1);
  WHET_ASSERT(documents.size() < std::numeric_limits<uint32_t>::max());
  double total_length = 0;
  for (size_t document = 0; document < documents.size(); ++document) {
    std::vector<std::string> terms = bm25_terms(documents[document]);
    WHET_ASSERT(terms.size() < std::numeric_limits<uint32_t>::max());
    lengths_.push_back(uint32_t(terms.size()));
    total_length += double(terms.size());
    // Sorted, each distinct term is one run whose length is its frequency.
    std::sort(terms.begin(), terms.end());
    for (size_t first = 0; first < terms.size();) {
      size_t end = first + 1;
      while (end < terms.size() && terms[end] == terms[first]) ++end;
      postings_[terms[first]].push_back({uint32_t(document), uint32_t(end - first)});
      first = end;
    }
  }
  if (!documents.empty()) average_length_ = total_length / double(documents.size());
}

std::vector<Bm25Hit> Bm25Index::search(std::string_view query, size_t k) const {
  const double documents = double(lengths_.size());
  // Every posting adds a positive weight (idf > 0 since n <= N, tf >= 1), so
  // the documents touched here are exactly those scoring above 0.
  std::unordered_map<uint32_t, double> scores;
  for (const std::string& term : bm25_terms(query)) {
    const auto found = postings_.find(term);
    if (found == postings_.end()) continue;
    const double containing = double(found->second.size());
    const double idf = std::log(1 + (documents - containing + 0.5) / (containing + 0.5));
    for (const Posting& posting : found->second) {
      const double tf = posting.frequency;
      const double length_norm = 1 - b_ + b_ * lengths_[posting.document] / average_length_;
      scores[posting.document] += idf * (tf * (k1_ + 1) / (tf + k1_ * length_norm));
    }
  }

  std::vector<Bm25Hit> hits;
  hits.reserve(scores.size());
  for (const auto& [document, score] : scores) hits.push_back({document, score});
  const auto better = [](const Bm25Hit& x, const Bm25Hit& y) {
    return x.score != y.score ? x.score > y.score : x.document < y.document;
  };
  const size_t kept = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + std::ptrdiff_t(kept), hits.end(), better);
  hits.resize(kept);
  return hits;
}

size_t Bm25Index::size() const { return lengths_.size(); }

}  // namespace whet
