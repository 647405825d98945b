// RunStore::sync and add_folder: the folders read into the index, in one transaction.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"
#include "track/best_metric.h"
#include "track/run_folder.h"
#include "track/run_store.h"

namespace whet::track {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A run's first bad metrics lines are kept by name; the rest only counted.
constexpr size_t kKeptBadLines = 20;

struct Place {
  std::string dir;     // absolute
  std::string source;  // what the place says: "cli", "job" under DATA/jobs, "watch" under DATA/loops
};

// The folders inside `dir` (none when it does not exist), in no particular order.
std::vector<fs::path> subfolders(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code error;
  for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator(); it.increment(error))
    if (it->is_directory()) out.push_back(it->path());
  return out;
}

// DATA/runs/*, DATA/jobs/*, the challengers of whet watch (DATA/loops/NAME/cycles/N/run)
// and the folders added by hand.
std::vector<Place> run_places(sqlite3* db, const std::string& path, const std::string& data_dir) {
  std::vector<Place> places;
  auto add = [&](const fs::path& dir, const char* source) {
    if (is_run_folder(dir.string())) places.push_back({absolute_dir(dir.string()), source});
  };
  for (const auto& [sub, source] : {std::pair{"runs", "cli"}, std::pair{"jobs", "job"}})
    for (const fs::path& dir : subfolders(fs::path(data_dir) / sub)) add(dir, source);
  for (const fs::path& loop : subfolders(fs::path(data_dir) / "loops"))
    for (const fs::path& cycle : subfolders(loop / "cycles")) add(cycle / "run", "watch");
  Statement added(db, path, "sync", "SELECT dir FROM added_folders ORDER BY dir");
  while (added.step()) {
    const std::string dir = added.text(0);
    if (std::none_of(places.begin(), places.end(), [&](const Place& p) { return p.dir == dir; }) && is_run_folder(dir))
      places.push_back({dir, "cli"});
  }
  return places;
}

// What the index holds about a run between syncs.
struct Stored {
  std::string id, dir, signature, status;
  bool missing = false;
  int64_t created_at = 0, steps = 0, bad_lines = 0;
  json best, last, problems, bad_line_notes;
  TailPosition position;
};

constexpr std::string_view kSelectStored =
    "SELECT id, dir, signature, status, missing, created_at, steps, bad_lines, best, last, problems, bad_line_notes, "
    "metrics_offset, metrics_lines, metrics_check, metrics_time FROM runs";

std::optional<Stored> stored_where(sqlite3* db, const std::string& path, std::string_view where, const std::string& key) {
  Statement row(db, path, "sync", fmt::format("{} WHERE {} = ?", kSelectStored, where));
  if (!row.bind(key).step()) return std::nullopt;
  return Stored{row.text(0),    row.text(1),    row.text(2),    row.text(3),     row.integer(4) != 0,
                row.integer(5), row.integer(6), row.integer(7), row.json(8),     row.json(9),
                row.json(10),   row.json(11),   {row.integer(12), row.integer(13), row.text(14), row.real(15)}};
}

class Sync {
 public:
  Sync(sqlite3* db, const std::string& path) : db_(db), path_(path) {}

  void place(const Place& place) {
    std::optional<Stored> stored = stored_where(db_, path_, "dir", place.dir);
    const std::string signature = folder_signature(place.dir);
    const bool unchanged = stored && stored->signature == signature && stored->status != "running" && !stored->missing;
    const std::string id = unchanged ? stored->id : index_folder(place, stored, signature);
    follow_metrics(*stored_where(db_, path_, "id", id), place.dir + "/metrics.jsonl");
    seen_.insert(id);
    ++report_.runs;
  }

  // Runs whose folders were not found: kept, and marked missing.
  void mark_missing() {
    Statement all(db_, path_, "sync", "SELECT id FROM runs WHERE missing = 0");
    std::vector<std::string> gone;
    while (all.step())
      if (!seen_.count(all.text(0))) gone.push_back(all.text(0));
    for (const std::string& id : gone) {
      Statement(db_, path_, "sync", "UPDATE runs SET missing = 1, updated_at = ? WHERE id = ?").bind(now_seconds(), id).run();
      ++report_.changed_runs;
    }
  }

  SyncReport report() { return std::move(report_); }

 private:
  // Reads the folder and writes its row; returns the run's id.
  std::string index_folder(const Place& place, std::optional<Stored>& stored, const std::string& signature) {
    RunFolder folder = read_run_folder(place.dir, place.source);
    settle_id(folder, stored);
    const json problems = folder.problems;
    for (const std::string& problem : folder.problems)
      if (!stored || std::find(stored->problems.begin(), stored->problems.end(), problem) == stored->problems.end())
        report_.problems.push_back(problem);
    const bool changed = !stored || stored->signature != signature || stored->status != folder.status || stored->missing;
    Statement(db_, path_, "sync",
              "INSERT INTO runs (id, dir, name, source, status, method, model, data, created_at, updated_at, params, "
              "best, last, steps, lineage, gate, evaluations, problems, bad_line_notes, missing, signature, bad_lines, "
              "metrics_offset, metrics_lines, metrics_check, metrics_time) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '{}', 0, ?, ?, ?, ?, '[]', 0, ?, 0, 0, 0, '', 0) "
              "ON CONFLICT (id) DO UPDATE SET dir = excluded.dir, name = excluded.name, source = excluded.source, "
              "status = excluded.status, method = excluded.method, model = excluded.model, data = excluded.data, "
              "created_at = excluded.created_at, updated_at = CASE WHEN ? THEN excluded.updated_at ELSE updated_at END, "
              "params = excluded.params, lineage = excluded.lineage, gate = excluded.gate, "
              "evaluations = excluded.evaluations, problems = excluded.problems, missing = 0, "
              "signature = excluded.signature")
        .bind(folder.id, folder.dir, folder.name, folder.source, folder.status, folder.method, folder.model,
              json(folder.data), folder.created_at, now_seconds(), folder.params, folder.lineage, folder.gate,
              folder.evaluations, problems, signature, int64_t(changed))
        .run();
    Statement(db_, path_, "sync", "DELETE FROM artefacts WHERE run_id = ?").bind(folder.id).run();
    for (const Artefact& a : folder.artefacts)
      Statement(db_, path_, "sync", "INSERT INTO artefacts (run_id, kind, path, bytes) VALUES (?, ?, ?, ?)")
          .bind(folder.id, a.kind, a.path, a.bytes)
          .run();
    if (changed) ++report_.changed_runs;
    return folder.id;
  }

  // One id per folder, kept across syncs: a folder whose run.json names a run
  // the index holds for a folder that no longer exists was moved there, and its
  // row follows it; one that names a run another existing folder holds is a
  // copy, tracked by its path. A folder whose id changed (run.json written after
  // a sync saw its config.yaml, or a new run trained into it) keeps its row and seqs.
  void settle_id(RunFolder& folder, std::optional<Stored>& stored) {
    const std::optional<Stored> holder = stored_where(db_, path_, "id", folder.id);
    if (holder && holder->dir != folder.dir) {
      if (!fs::exists(holder->dir)) {
        if (stored) forget(stored->id);
        Statement(db_, path_, "sync", "UPDATE runs SET dir = ? WHERE id = ?").bind(folder.dir, folder.id).run();
        stored = stored_where(db_, path_, "id", folder.id);
        return;
      }
      folder.problems.push_back(fmt::format("[{}/run.json] id {} is also the id of {} (a copy?); this folder is tracked as {}",
                                            folder.dir, folder.id, holder->dir, path_run_id(folder.dir)));
      folder.id = path_run_id(folder.dir);
      folder.id_from_record = false;
    }
    if (stored && stored->id != folder.id) {
      for (const char* sql : {"UPDATE runs SET id = ? WHERE id = ?", "UPDATE metrics SET run_id = ? WHERE run_id = ?",
                              "UPDATE artefacts SET run_id = ? WHERE run_id = ?"})
        Statement(db_, path_, "sync", sql).bind(folder.id, stored->id).run();
      stored->id = folder.id;
    }
  }

  void forget(const std::string& id) {
    for (const char* table : {"metrics", "artefacts"})
      Statement(db_, path_, "sync", fmt::format("DELETE FROM {} WHERE run_id = ?", table)).bind(id).run();
    Statement(db_, path_, "sync", "DELETE FROM runs WHERE id = ?").bind(id).run();
  }

  // The lines metrics.jsonl gained since the last sync, as rows; best and last values updated.
  void follow_metrics(Stored run, const std::string& file) {
    const TailResult tail = tail_metrics(file, run.position, double(run.created_at));
    if (tail.restarted) {
      Statement(db_, path_, "sync", "DELETE FROM metrics WHERE run_id = ?").bind(run.id).run();
      run.best = json::object();
      run.last = json::object();
      run.steps = 0;
      run.bad_lines = 0;
      run.bad_line_notes = json::array();
    }
    Statement insert(db_, path_, "sync", "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)");
    for (const MetricRow& row : tail.rows) {
      insert.reset().bind(run.id, row.step, row.name, row.value, row.time).run();
      note_value(run, row);
    }
    run.bad_lines += int64_t(tail.bad_lines.size());
    for (const std::string& line : tail.bad_lines) {
      if (run.bad_line_notes.size() < kKeptBadLines) run.bad_line_notes.push_back(line);
      report_.problems.push_back(line);
    }
    const bool grew = !tail.rows.empty() || !tail.bad_lines.empty() || tail.restarted;
    if (!grew && tail.position.offset == run.position.offset) return;
    Statement(db_, path_, "sync",
              "UPDATE runs SET best = ?, last = ?, steps = ?, bad_lines = ?, bad_line_notes = ?, metrics_offset = ?, "
              "metrics_lines = ?, metrics_check = ?, metrics_time = ?, updated_at = CASE WHEN ? THEN ? ELSE updated_at END "
              "WHERE id = ?")
        .bind(run.best, run.last, run.steps, run.bad_lines, run.bad_line_notes, tail.position.offset,
              tail.position.lines, tail.position.check, tail.position.last_time, int64_t(grew), now_seconds(), run.id)
        .run();
    report_.new_metrics += int64_t(tail.rows.size());
    if (grew) ++report_.changed_runs;
  }

  static void note_value(Stored& run, const MetricRow& row) {
    if (const std::optional<bool> lower = lower_is_better(row.name)) {
      const auto best = run.best.find(row.name);
      if (best == run.best.end() || (*lower ? row.value < best->get<double>() : row.value > best->get<double>()))
        run.best[row.name] = row.value;
    }
    if (!run.last.contains("step") || row.step >= run.last["step"].get<int64_t>()) run.last["step"] = row.step;
    run.last[row.name] = row.value;
    run.steps = std::max(run.steps, row.step);
  }

  sqlite3* db_;
  const std::string& path_;
  std::set<std::string> seen_;
  SyncReport report_;
};

}  // namespace

SyncReport RunStore::sync() {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "sync");
  Sync sync(db_, path_);
  for (const Place& place : run_places(db_, path_, data_dir_)) sync.place(place);
  sync.mark_missing();
  transaction.commit();
  return sync.report();
}

SyncReport RunStore::add_folder(const std::string& dir) {
  const std::string absolute = absolute_dir(dir);
  if (!fs::is_directory(absolute)) fail(dir, "not a folder");
  if (!is_run_folder(absolute)) fail(dir, "not a run folder: it has no run.json, config.yaml or metrics.jsonl");
  {
    std::lock_guard lock(mutex_);
    Statement(db_, path_, "add folder", "INSERT OR IGNORE INTO added_folders (dir, added_at) VALUES (?, ?)")
        .bind(absolute, now_seconds())
        .run();
  }
  return sync();
}

}  // namespace whet::track
