#include "io/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>

#include "core/error.h"
#include "io/sqlite_statement.h"

namespace whet {

sqlite3* open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    fail(path, "open: {}", reason);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void check_sqlite_integrity(sqlite3* db, const std::string& path) {
  Statement check(db, path, "open", "PRAGMA quick_check(1)");  // the first problem is enough
  if (check.step() && check.text(0) != "ok") {
    std::string problem = check.text(0);
    std::replace(problem.begin(), problem.end(), '\n', ' ');
    fail(path, "open: the database is corrupted: {}{}", problem, kSqliteDamagedHint);
  }
}

namespace {

void migrate_schema(sqlite3* db, const std::string& path, int64_t application_id,
                    std::span<const char* const> migrations, std::string_view owner) {
  auto pragma = [&](std::string_view sql) {
    Statement statement(db, path, "open", sql);
    return statement.step() ? statement.integer(0) : 0;
  };
  // Reading the header first: a file that is not SQLite fails here, and one
  // that belongs to another program is refused before anything writes to it.
  const int64_t found_id = pragma("PRAGMA application_id");
  if (found_id != application_id && pragma("SELECT count(*) FROM sqlite_schema") != 0)
    fail(path, "open: a SQLite database, but not one of {}'s (application_id {})", owner, found_id);
  pragma("PRAGMA journal_mode = WAL");
  pragma("PRAGMA synchronous = FULL");
  check_sqlite_integrity(db, path);
  SqliteTransaction transaction(db, path, "open");
  const int64_t version = pragma("PRAGMA user_version");
  if (version > int64_t(migrations.size()))
    fail(path, "open: schema version {} is newer than this Whet knows ({}); upgrade Whet", version, migrations.size());
  for (size_t v = size_t(version); v < migrations.size(); ++v) {
    char* message = nullptr;
    if (sqlite3_exec(db, migrations[v], nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string reason = message ? message : sqlite3_errmsg(db);
      sqlite3_free(message);
      fail(path, "open: migrating the schema to version {}: {}", v + 1, reason);
    }
  }
  transaction.commit();
}

}  // namespace

sqlite3* open_sqlite_store(const std::string& path, int64_t application_id, std::span<const char* const> migrations,
                           std::string_view owner) {
  sqlite3* db = open_sqlite(path);
  try {
    migrate_schema(db, path, application_id, migrations, owner);
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  return db;
}

SqliteTransaction::SqliteTransaction(sqlite3* db, const std::string& path, std::string_view operation)
    : db_(db), path_(path), operation_(operation) {
  Statement(db_, path_, operation_, "BEGIN IMMEDIATE").run();
}

SqliteTransaction::~SqliteTransaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit() {
  Statement(db_, path_, operation_, "COMMIT").run();
  open_ = false;
}

}  // namespace whet
