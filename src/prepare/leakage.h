#pragma once
// Leakage: records of one side that share most of their word n-grams with the
// other side of a split, or with an evaluation set. Such a record makes the
// held-out score measure memory, not skill.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/split.h"

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

// One side's n-grams, indexed once, to look the records of other sides up in.
// The texts themselves are not kept, so a side can be added a batch at a time.
class NgramIndex {
 public:
  NgramIndex(std::string name, int n) : name_(std::move(name)), n_(n) {}
  void add(const LeakSide& part);  // its name is not used: the index has its own
  // Each record of `side` whose n-gram overlap with this side is at least the threshold.
  std::vector<Leak> find(const LeakSide& side, double threshold) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::string> wheres_;
  std::unordered_multimap<uint64_t, uint32_t> index_;  // n-gram -> record holding it
  int n_;
};

std::vector<Leak> find_leaks(const LeakSide& side, const LeakSide& other, int n, double threshold);

// The stage: train against validation and test, validation against test, every
// split against each evaluation file. With action drop the leaking records are
// dropped from their split. Returns the leaks found. Held-out splits and
// evaluation files are held in memory as n-gram indexes; train is read back a
// batch at a time.
std::vector<Leak> leakage_stage(SplitKeys& parts, const Spool& spool, const LeakageConfig& config,
                                const PipelineConfig& pipeline, Ledger& ledger);

}  // namespace whet
