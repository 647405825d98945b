#include "track/registry_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/ranges.h>

#include "core/error.h"
#include "eval/gate.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"

// Durability and concurrency as serve/job_store.cpp explains them: WAL with
// synchronous=FULL, so a promotion the caller was told about survives a power
// cut; BEGIN IMMEDIATE per change, so two processes promoting at once take turns
// and each reads the alias as the other left it.
namespace whet::track {

namespace fs = std::filesystem;

namespace {

// Schema version N is reached from N - 1 by kMigrations[N - 1] (as in
// serve/job_store.cpp). The application id 'WHRG' tells this file from the
// server's whet.sqlite and from other SQLite databases.
constexpr int64_t kApplicationId = 0x57485247;
constexpr std::array<const char*, 1> kMigrations = {R"sql(
CREATE TABLE registered_models (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE model_versions (
  name TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, base_model TEXT NOT NULL,
  base_hash TEXT NOT NULL, source TEXT NOT NULL, run_id TEXT NOT NULL, gate TEXT, created_at INTEGER NOT NULL,
  description TEXT NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE aliases (
  name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias));
CREATE TABLE registry_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, action TEXT NOT NULL, name TEXT NOT NULL,
  alias TEXT NOT NULL, from_version INTEGER, to_version INTEGER, reason TEXT NOT NULL);
CREATE INDEX events_by_alias ON registry_events (name, alias, seq);
PRAGMA application_id = 1464357447;
PRAGMA user_version = 1;
)sql"};
static_assert(kApplicationId == 1464357447);

constexpr std::string_view kSelectVersion =
    "SELECT name, version, kind, path, base_model, base_hash, source, run_id, gate, created_at, description "
    "FROM model_versions";
ModelVersion read_version_row(const Statement& row) {
  ModelVersion v;
  v.name = row.text(0);
  v.version = row.integer(1);
  const std::string kind = row.text(2);
  if (kind == "adapter") v.kind = VersionKind::Adapter;
  else if (kind == "model") v.kind = VersionKind::Model;
  else row.bad_column(2, fmt::format("holds an unknown kind '{}'", kind));
  v.path = row.text(3);
  v.base_model = row.text(4);
  v.base_hash = row.text(5);
  v.source = row.text(6);
  v.run_id = row.text(7);
  v.gate = row.json(8);
  v.created_at = row.integer(9);
  v.description = row.text(10);
  return v;
}

constexpr std::string_view kSelectEvent =
    "SELECT seq, time, action, name, alias, from_version, to_version, reason FROM registry_events";
std::optional<int64_t> optional_integer(const Statement& row, int column) {
  return row.is_null(column) ? std::nullopt : std::optional(row.integer(column));
}
RegistryEvent read_event_row(const Statement& row) {
  return {row.integer(0),       row.integer(1),          row.text(2), row.text(3), row.text(4),
          optional_integer(row, 5), optional_integer(row, 6), row.text(7)};
}

std::string sql(std::string_view select, std::string_view rest) { return fmt::format("{} {}", select, rest); }

void check_identifier(const std::string& text, const char* what, const char* extra) {
  const bool ok = !text.empty() && text.size() <= 128 && std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || (c != 0 && std::strchr(extra, c));
  });
  if (!ok)
    fail("registry", "{} '{}' must be 1 to 128 letters, digits, - or _{}", what, text,
         *extra ? fmt::format(" or {}", extra) : "");
}

}  // namespace

std::string_view version_kind_name(VersionKind kind) { return kind == VersionKind::Adapter ? "adapter" : "model"; }

bool ModelVersion::gate_failed() const { return gate.is_object() && !gate.value("passed", true); }

std::string ModelVersion::gate_reason() const {
  if (!gate_failed()) return "";
  const std::optional<GateRecord> record = read_gate_verdict(path);
  return record && !record->reason.empty() ? record->reason : "its run failed the forgetting gate";
}

void check_model_name(const std::string& name) { check_identifier(name, "model name", "."); }

void check_alias_name(const std::string& alias) {
  check_identifier(alias, "alias", "");
  if (alias == "latest" || std::all_of(alias.begin(), alias.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
    fail("registry", "alias '{}' would read as a version in models:/NAME@ALIAS; choose a name", alias);
}

RegistryStore::RegistryStore(const std::string& data_dir)
    : data_dir_(fs::absolute(data_dir).lexically_normal().string()), path_(data_dir_ + "/registry.sqlite") {
  fs::create_directories(data_dir_);
  db_ = open_sqlite_store(path_, kApplicationId, kMigrations, "the model registry");
}

RegistryStore::~RegistryStore() { sqlite3_close_v2(db_); }

std::string RegistryStore::staging_dir(const std::string& name) const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}/registry/.staging/{}-{:016x}", data_dir_, name, rng());
}

std::vector<std::string> RegistryStore::model_names() {
  Statement statement(db_, path_, "list models", "SELECT name FROM registered_models ORDER BY name");
  std::vector<std::string> names;
  while (statement.step()) names.push_back(statement.text(0));
  return names;
}

std::optional<int64_t> RegistryStore::alias_version(const std::string& name, const std::string& alias) {
  Statement statement(db_, path_, "read alias", "SELECT version FROM aliases WHERE name = ? AND alias = ?");
  if (!statement.bind(name, alias).step()) return std::nullopt;
  return statement.integer(0);
}

RegisteredModel RegistryStore::read_model(const std::string& name) {
  Statement model(db_, path_, "read model", "SELECT name, description, created_at FROM registered_models WHERE name = ?");
  if (!model.bind(name).step()) {
    const std::vector<std::string> names = model_names();
    fail("registry", "no registered model '{}'; {}", name,
         names.empty() ? "none is registered yet (whet registry register NAME --from RUN_DIR)"
                       : fmt::format("registered: {}", fmt::join(names, ", ")));
  }
  RegisteredModel out{model.text(0), model.text(1), model.integer(2), {}, {}};
  Statement versions(db_, path_, "read model", sql(kSelectVersion, "WHERE name = ? ORDER BY version"));
  versions.bind(name);
  while (versions.step()) out.versions.push_back(read_version_row(versions));
  Statement aliases(db_, path_, "read model", "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias");
  aliases.bind(name);
  while (aliases.step()) out.aliases[aliases.text(0)] = aliases.integer(1);
  return out;
}

RegistryEvent RegistryStore::log_event(RegistryEvent event) {
  event.time = now_seconds();
  Statement(db_, path_, event.action,
            "INSERT INTO registry_events (time, action, name, alias, from_version, to_version, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(event.time, event.action, event.name, event.alias, event.from_version, event.to_version, event.reason)
      .run();
  event.seq = sqlite3_last_insert_rowid(db_);
  return event;
}

ModelVersion RegistryStore::add_version(const NewVersion& given) {
  check_model_name(given.name);
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "register");
  const int64_t now = now_seconds();
  Statement latest(db_, path_, "register", "SELECT max(version) FROM model_versions WHERE name = ?");
  latest.bind(given.name).step();
  ModelVersion v;
  v.name = given.name;
  v.version = latest.is_null(0) ? 1 : latest.integer(0) + 1;
  if (v.version == 1)
    Statement(db_, path_, "register",
              "INSERT OR IGNORE INTO registered_models (name, description, created_at) VALUES (?, ?, ?)")
        .bind(given.name, given.description, now)
        .run();
  v.kind = given.kind;
  v.path = fmt::format("{}/registry/{}/{}", data_dir_, given.name, v.version);
  v.base_model = given.base_model;
  v.base_hash = given.base_hash;
  v.source = given.source;
  v.run_id = given.run_id;
  v.gate = given.gate;
  v.created_at = now;
  v.description = given.description;
  // A folder without a row is what a process killed between the rename and the
  // commit leaves: nothing refers to it, and the write lock is ours.
  fs::remove_all(v.path);
  fs::create_directories(fs::path(v.path).parent_path());
  fs::rename(given.staged, v.path);
  try {
    Statement(db_, path_, "register",
              "INSERT INTO model_versions (name, version, kind, path, base_model, base_hash, source, run_id, gate, "
              "created_at, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(v.name, v.version, version_kind_name(v.kind), v.path, v.base_model, v.base_hash, v.source, v.run_id,
              v.gate, v.created_at, v.description)
        .run();
    log_event({0, 0, "register", v.name, "", std::nullopt, v.version, v.description});
    transaction.commit();
  } catch (...) {
    fs::remove_all(v.path);
    throw;
  }
  return v;
}

RegistryEvent RegistryStore::move_alias(const std::string& operation, const std::string& action,
                                        const std::string& name, const std::string& alias, std::optional<int64_t> to,
                                        const std::string& reason) {
  const std::optional<int64_t> from = alias_version(name, alias);
  if (to) {
    Statement(db_, path_, operation, "INSERT OR REPLACE INTO aliases (name, alias, version) VALUES (?, ?, ?)")
        .bind(name, alias, *to)
        .run();
  } else {
    Statement(db_, path_, operation, "DELETE FROM aliases WHERE name = ? AND alias = ?").bind(name, alias).run();
  }
  return log_event({0, 0, action, name, alias, from, to, reason});
}

RegistryEvent RegistryStore::promote(const std::string& name, const std::string& alias, int64_t version,
                                     const std::string& reason, bool force) {
  check_alias_name(alias);
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "promote");
  const RegisteredModel model = read_model(name);
  const auto v = std::find_if(model.versions.begin(), model.versions.end(),
                              [&](const ModelVersion& m) { return m.version == version; });
  if (v == model.versions.end())
    fail("registry", "model '{}' has no version {}; its versions: 1 to {}", name, version, model.latest_version());
  if (v->gate_failed() && !force)
    fail("registry",
         "version {} of '{}' failed the forgetting gate of its training run ({}); it is not promoted to '{}' "
         "unless you force it (--force, or \"force\": true)",
         version, name, v->gate_reason(), alias);
  RegistryEvent event = move_alias("promote", "promote", name, alias, version, reason);
  transaction.commit();
  return event;
}

RegistryEvent RegistryStore::rollback(const std::string& name, const std::string& alias, const std::string& reason) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "rollback");
  read_model(name);  // fails naming the registered models when `name` is not one
  // Each roll-back undoes one change: walking back, a roll-back skips the change before it.
  Statement changes(db_, path_, "rollback",
                    sql(kSelectEvent, "WHERE name = ? AND alias = ? AND action != 'register' ORDER BY seq DESC"));
  changes.bind(name, alias);
  int undone = 0;
  std::optional<RegistryEvent> change;
  while (changes.step()) {
    RegistryEvent e = read_event_row(changes);
    if (e.action == "rollback") ++undone;
    else if (undone > 0) --undone;
    else {
      change = std::move(e);
      break;
    }
  }
  if (!change) fail("registry", "alias '{}' of '{}' has no change to roll back", alias, name);
  if (!change->from_version)
    fail("registry", "alias '{}' of '{}' pointed at no version before it was set to version {}; nothing to roll back to",
         alias, name, *change->to_version);
  RegistryEvent event = move_alias("rollback", "rollback", name, alias, change->from_version, reason);
  transaction.commit();
  return event;
}

RegistryEvent RegistryStore::delete_alias(const std::string& name, const std::string& alias,
                                          const std::string& reason) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(db_, path_, "delete alias");
  const RegisteredModel model = read_model(name);
  if (!model.aliases.contains(alias)) fail("registry", "model '{}' has no alias '{}'", name, alias);
  RegistryEvent event = move_alias("delete alias", "delete_alias", name, alias, std::nullopt, reason);
  transaction.commit();
  return event;
}

std::vector<RegisteredModel> RegistryStore::list_models() {
  std::lock_guard lock(mutex_);
  std::vector<RegisteredModel> out;
  for (const std::string& name : model_names()) out.push_back(read_model(name));
  return out;
}

RegisteredModel RegistryStore::get_model(const std::string& name) {
  std::lock_guard lock(mutex_);
  return read_model(name);
}

std::optional<RegisteredModel> RegistryStore::find_model(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement exists(db_, path_, "read model", "SELECT 1 FROM registered_models WHERE name = ?");
  if (!exists.bind(name).step()) return std::nullopt;
  return read_model(name);
}

std::vector<RegistryEvent> RegistryStore::events(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "read events", sql(kSelectEvent, "WHERE name = ? ORDER BY seq"));
  statement.bind(name);
  std::vector<RegistryEvent> out;
  while (statement.step()) out.push_back(read_event_row(statement));
  return out;
}

ModelVersion RegistryStore::get_version(const std::string& name, int64_t version) {
  std::lock_guard lock(mutex_);
  const RegisteredModel model = read_model(name);
  for (const ModelVersion& v : model.versions)
    if (v.version == version) return v;
  fail("registry", "model '{}' has no version {}; its versions: 1 to {}", name, version, model.latest_version());
}

ModelVersion RegistryStore::version_for_alias(const std::string& name, const std::string& alias) {
  std::lock_guard lock(mutex_);
  const RegisteredModel model = read_model(name);
  const auto it = model.aliases.find(alias);
  if (it == model.aliases.end()) {
    std::vector<std::string> known;
    for (const auto& [a, v] : model.aliases) known.push_back(fmt::format("{} (version {})", a, v));
    fail("registry", "model '{}' has no alias '{}'; {}", name, alias,
         known.empty() ? fmt::format("it has none yet (whet registry promote {} VERSION --alias {})", name, alias)
                       : fmt::format("its aliases: {}", fmt::join(known, ", ")));
  }
  for (const ModelVersion& v : model.versions)
    if (v.version == it->second) return v;
  fail(path_, "alias '{}' of '{}' points at version {}, which is not in model_versions{}", alias, name, it->second,
       kSqliteDamagedHint);
}

}  // namespace whet::track
