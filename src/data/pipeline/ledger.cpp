#include "data/pipeline/ledger.h"

#include <algorithm>

#include "core/error.h"

namespace whet {

void Ledger::begin(std::string stage, size_t in) { stages_.push_back(StageReport{std::move(stage), in, 0, {}, {}, {}, {}}); }

void Ledger::end(size_t out) { current().out = out; }

StageReport& Ledger::current() {
  WHET_ASSERT(!stages_.empty());
  return stages_.back();
}

void Ledger::reject(const std::string& where, const std::string& category, const std::string& reason) {
  ++current().dropped[category];
  dropped_.push_back({SIZE_MAX, where, current().stage, reason});
}

void Ledger::drop(const Record& record, const Reason& reason) { drop(record.id, record.example.where(), reason); }

void Ledger::drop(size_t id, const std::string& where, const Reason& reason) {
  ++current().dropped[reason.category];
  dropped_.push_back(
      {id, where, current().stage, reason.detail.empty() ? reason.category : reason.category + ": " + reason.detail});
}

void Ledger::absorb(Ledger&& part) {
  for (StageReport& from : part.stages_) {
    auto same = std::find_if(stages_.begin(), stages_.end(), [&](const StageReport& s) { return s.stage == from.stage; });
    if (same == stages_.end()) {
      stages_.push_back(std::move(from));
      continue;
    }
    same->in += from.in;
    same->out += from.out;
    for (auto [into, counts] : {std::pair{&same->dropped, &from.dropped}, {&same->changed, &from.changed},
                                {&same->added, &from.added}, {&same->counts, &from.counts}})
      for (const auto& [what, n] : *counts) (*into)[what] += n;
  }
  for (DroppedRecord& d : part.dropped_) dropped_.push_back(std::move(d));
}

void Ledger::change(Record& record, const std::string& what, const std::string& detail) {
  ++current().changed[what];
  record.marks.push_back(current().stage + ": " + what + (detail.empty() ? "" : " " + detail));
}

void Ledger::add(Record& record, const Reason& why) {
  ++current().added[why.category];
  record.marks.push_back(current().stage + ": " + why.category + (why.detail.empty() ? "" : " " + why.detail));
}

void drop_marked(std::vector<Record>& records, Ledger& ledger, const std::vector<Reason>& reasons) {
  WHET_ASSERT(reasons.size() == records.size());
  size_t kept = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!reasons[i].category.empty()) {
      ledger.drop(records[i], reasons[i]);
    } else {
      if (kept != i) records[kept] = std::move(records[i]);
      ++kept;
    }
  }
  records.resize(kept);
}

void drop_if(std::vector<Record>& records, Ledger& ledger,
             const std::function<std::optional<Reason>(const Record&)>& reason) {
  std::vector<Reason> reasons(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    if (std::optional<Reason> why = reason(records[i])) reasons[i] = std::move(*why);
  drop_marked(records, ledger, reasons);
}

}  // namespace whet
