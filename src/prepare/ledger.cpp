#include "prepare/ledger.h"

#include <algorithm>
#include <numeric>
#include <tuple>

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

void Ledger::order_dropped() {
  std::vector<size_t> stage_of(dropped_.size());
  for (size_t i = 0; i < dropped_.size(); ++i) {
    const auto at = std::find_if(stages_.begin(), stages_.end(),
                                 [&](const StageReport& s) { return s.stage == dropped_[i].stage; });
    stage_of[i] = size_t(at - stages_.begin());
  }
  std::vector<size_t> order(dropped_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(stage_of[a], dropped_[a].id) < std::tie(stage_of[b], dropped_[b].id);
  });
  std::vector<DroppedRecord> ordered;
  ordered.reserve(order.size());
  for (size_t i : order) ordered.push_back(std::move(dropped_[i]));
  dropped_ = std::move(ordered);
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

}  // namespace whet
