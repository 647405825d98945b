#pragma once
// Leakage: records of one side that share most of their word n-grams with the
// other side of a split, or with an evaluation set. Such a record makes the
// held-out score measure memory, not skill.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/pipeline/ledger.h"
#include "data/pipeline/pipeline_config.h"
#include "data/pipeline/split.h"

namespace whet {

// Hashes of the distinct n-grams of lower-cased words (runs of letters and
// digits), sorted. A text of fewer than n words is one n-gram of all of them.
std::vector<uint64_t> word_ngrams(std::string_view text, int n);

struct Leak {
  std::string split;    // the side the leaking record is on
  std::string where;    // its file:line
  std::string against;  // the other side: a split name or an evaluation file
  std::string match;    // file:line of the record there that shares the most n-grams
  double overlap = 0;   // share of the record's n-grams found on the other side
};

// A side of the comparison: its name and the records (content, file:line).
struct LeakSide {
  std::string name;
  std::vector<std::string> texts, wheres;
};

// Each record of `side` whose n-gram overlap with `other` is at least the threshold.
std::vector<Leak> find_leaks(const LeakSide& side, const LeakSide& other, int n, double threshold);

// The stage: train against validation and test, validation against test, every
// split against each evaluation file. With action drop the leaking records are
// dropped from their split. Returns the leaks found.
std::vector<Leak> leakage_stage(SplitRecords& splits, const LeakageConfig& config, const PipelineConfig& pipeline,
                                Ledger& ledger);

}  // namespace whet
