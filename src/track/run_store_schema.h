#pragma once
// tracking.sqlite's schema, reached by migrations as serve/job_store.cpp's is:
// version N from N - 1 by kRunStoreMigrations[N - 1]; the application id
// ('WHTR') tells the run tracker's file from the server's whet.sqlite.
//
// runs: one row per run folder; params, best, last, lineage, gate, evaluations
// and problems (the files that could not be read) and bad_line_notes (the first
// metrics lines passed over) are JSON text. The metrics_* columns say where the next read of
// the folder's metrics.jsonl starts (track/run_metrics_tail.h), signature what
// the folder held when it was last read (track/run_folder.h).
// metrics: seq AUTOINCREMENT, so a seq is never reused and a client that saw
// seq N asks for what came after it (Server-Sent Events' Last-Event-ID).
#include <array>
#include <cstdint>

namespace whet::track {

inline constexpr int64_t kRunStoreApplicationId = 0x57485452;
inline constexpr std::array<const char*, 1> kRunStoreMigrations = {R"sql(
CREATE TABLE runs (
  id TEXT PRIMARY KEY, dir TEXT NOT NULL UNIQUE, name TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL,
  method TEXT NOT NULL, model TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, params TEXT NOT NULL, best TEXT NOT NULL, last TEXT NOT NULL, steps INTEGER NOT NULL,
  lineage TEXT NOT NULL, gate TEXT, evaluations TEXT NOT NULL, problems TEXT NOT NULL, bad_line_notes TEXT NOT NULL,
  missing INTEGER NOT NULL,
  signature TEXT NOT NULL, bad_lines INTEGER NOT NULL, metrics_offset INTEGER NOT NULL,
  metrics_lines INTEGER NOT NULL, metrics_check TEXT NOT NULL, metrics_time REAL NOT NULL);
CREATE TABLE metrics (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
  value REAL NOT NULL, time REAL NOT NULL);
CREATE INDEX metrics_by_run ON metrics (run_id, seq);
CREATE TABLE artefacts (
  run_id TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (run_id, path));
CREATE TABLE added_folders (dir TEXT PRIMARY KEY, added_at INTEGER NOT NULL);
PRAGMA application_id = 1464357970;
PRAGMA user_version = 1;
)sql"};
static_assert(kRunStoreApplicationId == 1464357970);

}  // namespace whet::track
