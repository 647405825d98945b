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
