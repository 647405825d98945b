#pragma once
// The run tracker's index, DATA/tracking.sqlite: every run folder under
// DATA/runs/ and DATA/jobs/ (the server's jobs) and every folder added with
// `whet runs add`, with its params, lineage, artefacts and metrics per step.
// The folders stay the truth: sync() reads what changed in them (a folder's
// files when they changed, metrics.jsonl from where the last sync stopped),
// all in one transaction, so a sync killed midway leaves the index as the
// previous sync left it. A folder that disappeared is marked missing, not
// forgotten. Thread-safe: one connection behind one mutex, as serve/job_store.
// Failures are whet::Error "[<database path>] <operation>: <reason>".
#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "track/run_metrics_tail.h"

namespace whet::track {

// A metric row as the API serves it: {"seq", "step", "name", "value", "time"}.
struct StoredMetric {
  int64_t seq = 0;
  MetricRow row;
};
nlohmann::json metric_json(const StoredMetric& metric);

struct SyncReport {
  int64_t runs = 0;          // folders indexed
  int64_t new_metrics = 0;   // rows added
  int64_t changed_runs = 0;  // runs whose record changed (status, files, metrics)
  std::vector<std::string> problems;  // found by this sync: bad metrics lines, unreadable files
};

class RunStore {
 public:
  static constexpr const char* kFileName = "tracking.sqlite";
  // Opens (creating if need be) DATA_DIR/tracking.sqlite.
  explicit RunStore(const std::string& data_dir);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  SyncReport sync();
  // Tracks DIR (a run folder outside the data folder) from now on, and syncs.
  SyncReport add_folder(const std::string& dir);

  // Runs as the API shows them (docs/runs.md), newest first.
  std::vector<nlohmann::json> runs();
  std::optional<nlohmann::json> run(const std::string& id);
  // The id of the run named by `text`: its id, its folder's name, or a unique
  // start of its id. whet::Error when the name fits several runs.
  std::optional<std::string> find(const std::string& text);
  // Rows after `after` (a seq), oldest first, at most `limit`.
  std::vector<StoredMetric> metrics(const std::string& id, int64_t after, int64_t limit);

  const std::string& path() const { return path_; }

 private:
  std::string data_dir_, path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace whet::track
