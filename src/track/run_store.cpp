#include "track/run_store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <filesystem>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"
#include "track/best_metric.h"
#include "track/run_store_schema.h"

// Durability and concurrency as in serve/job_store.cpp: WAL with
// synchronous=FULL, one connection behind one mutex. The server's sync thread,
// its HTTP threads and a `whet runs` command in another process share the file;
// each sync is one BEGIN IMMEDIATE transaction, so two syncs never interleave.
namespace whet::track {

using nlohmann::json;

namespace {

constexpr std::string_view kSelectRun =
    "SELECT id, name, dir, source, status, method, model, data, created_at, updated_at, params, best, last, steps, "
    "lineage, gate, bad_lines, missing, evaluations, problems, bad_line_notes FROM runs";

json artefacts_of(sqlite3* db, const std::string& path, const std::string& id) {
  Statement statement(db, path, "read artefacts", "SELECT kind, path, bytes FROM artefacts WHERE run_id = ? ORDER BY path");
  json artefacts = json::array();
  for (statement.bind(id); statement.step();)
    artefacts.push_back({{"kind", statement.text(0)}, {"path", statement.text(1)}, {"bytes", statement.integer(2)}});
  return artefacts;
}

// The run's headline metric (track/best_metric.h) with its best value. The
// stored best values follow each metric's kind; a config that turns the
// direction round (greater_is_better) is answered from the rows themselves.
json best_metric_json(sqlite3* db, const std::string& path, const std::string& id, const json& params, const json& best) {
  const std::optional<BestMetric> chosen = best_metric_of(params, best);
  if (!chosen) return nullptr;
  json value = best.value(chosen->name, json());
  if (chosen->greater_is_better == lower_is_better(chosen->name).value_or(chosen->greater_is_better)) {
    Statement extreme(db, path, "read best metric",
                      fmt::format("SELECT {}(value) FROM metrics WHERE run_id = ? AND name = ?",
                                  chosen->greater_is_better ? "MAX" : "MIN"));
    value = extreme.bind(id, chosen->name).step() && !extreme.is_null(0) ? json(extreme.real(0)) : json(nullptr);
  }
  return {{"name", chosen->name}, {"value", value}, {"greater_is_better", chosen->greater_is_better},
          {"from_config", chosen->from_config}};
}

json run_row_json(sqlite3* db, const std::string& path, const Statement& row) {
  const json lineage = row.json(14);
  json run = {{"object", "run"},
              {"id", row.text(0)},
              {"name", row.text(1)},
              {"dir", row.text(2)},
              {"source", row.text(3)},
              {"status", row.text(4)},
              {"method", row.text(5)},
              {"model", row.text(6)},
              {"data", row.json(7)},
              {"created_at", row.integer(8)},
              {"updated_at", row.integer(9)},
              {"params", row.json(10)},
              {"best", row.json(11)},
              {"best_metric", best_metric_json(db, path, row.text(0), row.json(10), row.json(11))},
              {"last", row.json(12)},
              {"steps", row.integer(13)},
              {"lineage", lineage},
              {"artefacts", artefacts_of(db, path, row.text(0))},
              {"gate", row.json(15)},
              {"bad_lines", row.integer(16)},
              {"missing", row.integer(17) != 0},
              {"evaluations", row.json(18)},
              {"problems", row.json(19)}};
  for (const json& note : row.json(20)) run["problems"].push_back(note);
  // The contract's three hashes are always there, null when unknown (a run older than run.json).
  for (const char* key : {"model_hash", "data_hash", "config_hash"})
    if (!run["lineage"].contains(key)) run["lineage"][key] = nullptr;
  return run;
}

}  // namespace

json metric_json(const StoredMetric& m) {
  return {{"seq", m.seq}, {"step", m.row.step}, {"name", m.row.name}, {"value", m.row.value}, {"time", m.row.time}};
}

RunStore::RunStore(const std::string& data_dir) : data_dir_(data_dir), path_(data_dir + "/" + kFileName) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) fail(data_dir, "cannot create the data folder: {}", error.message());
  db_ = open_sqlite_store(path_, kRunStoreApplicationId, kRunStoreMigrations, "the run tracker");
}

RunStore::~RunStore() { sqlite3_close_v2(db_); }

std::vector<json> RunStore::runs() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "list runs", fmt::format("{} ORDER BY created_at DESC, rowid DESC", kSelectRun));
  std::vector<json> runs;
  while (statement.step()) runs.push_back(run_row_json(db_, path_, statement));
  return runs;
}

std::optional<json> RunStore::run(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "get run", fmt::format("{} WHERE id = ?", kSelectRun));
  if (!statement.bind(id).step()) return std::nullopt;
  return run_row_json(db_, path_, statement);
}

std::optional<std::string> RunStore::find(const std::string& text) {
  std::lock_guard lock(mutex_);
  for (const char* where : {"id = ?1", "name = ?1", "substr(id, 1, length(?1)) = ?1"}) {
    Statement statement(db_, path_, "find run", fmt::format("SELECT id FROM runs WHERE {} ORDER BY created_at DESC", where));
    std::vector<std::string> ids;
    for (statement.bind(text); statement.step();) ids.push_back(statement.text(0));
    if (ids.size() == 1) return ids[0];
    if (ids.size() > 1)
      fail("runs", "'{}' names {} runs ({}, ...); give the run's id", text, ids.size(), fmt::join(ids.begin(), ids.begin() + 2, ", "));
  }
  return std::nullopt;
}

std::vector<StoredMetric> RunStore::metrics(const std::string& id, int64_t after, int64_t limit) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "read metrics",
                      "SELECT seq, step, name, value, time FROM metrics WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?");
  std::vector<StoredMetric> rows;
  for (statement.bind(id, after, limit); statement.step();)
    rows.push_back({statement.integer(0), {statement.integer(1), statement.text(2), statement.real(3), statement.real(4)}});
  return rows;
}

}  // namespace whet::track
