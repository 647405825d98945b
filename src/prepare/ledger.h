#pragma once
// The account of a pipeline run: what each stage took in and gave out, and why
// every record that went missing or changed did so. Stages report only through
// here, so nothing disappears without a line in the report.
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "prepare/record.h"

namespace whet {

struct StageReport {
  std::string stage;
  size_t in = 0, out = 0;
  std::map<std::string, size_t> dropped;  // reason -> records
  std::map<std::string, size_t> changed;  // what changed -> records
  std::map<std::string, size_t> added;    // why -> records (mixing copies, augmentation)
  std::map<std::string, size_t> counts;   // what the stage found: PII hits per type, clusters, leaks
};

struct DroppedRecord {
  size_t id = 0;      // Record::id; records rejected while reading have none and use SIZE_MAX
  std::string where;  // "file:line"
  std::string stage, reason;  // "category: detail", or the reader's message for a rejected line
};

// Why a record goes: counted per category, traced with the detail.
struct Reason {
  std::string category;  // empty: the record stays
  std::string detail;    // e.g. which record it duplicates
};

class Ledger {
 public:
  // Starts a stage over `in` records; the stage ends at the next begin() or end().
  void begin(std::string stage, size_t in);
  void end(size_t out);

  // A line that never became a record: counted under `category`, traced with the full reason.
  void reject(const std::string& where, const std::string& category, const std::string& reason);
  void drop(const Record& record, const Reason& reason);
  void drop(size_t id, const std::string& where, const Reason& reason);  // a record known by its key
  // Counts it under `what` and marks the record with what (and the detail).
  void change(Record& record, const std::string& what, const std::string& detail = "");
  void add(Record& record, const Reason& why);            // a record the stage made

  // Adds the account of a stage run batch by batch: each of `part`'s stages is
  // summed into the stage of the same name here (appended when new), and its
  // dropped records follow these.
  void absorb(Ledger&& part);
  // Puts the dropped records in the order a run over all records at once
  // would have: by stage, then by record id (lines the reader rejected,
  // which have no id, keep their order).
  void order_dropped();

  const std::vector<StageReport>& stages() const { return stages_; }
  const std::vector<DroppedRecord>& dropped() const { return dropped_; }
  StageReport& current();

 private:
  std::vector<StageReport> stages_;
  std::vector<DroppedRecord> dropped_;
};

// Drops records[i] when reasons[i] has a category; keeps the order.
void drop_marked(std::vector<Record>& records, Ledger& ledger, const std::vector<Reason>& reasons);
}  // namespace whet
