#pragma once
// Opening a SQLite file the way Whet's stores do (serve/job_store, tune/study_store),
// and the write transaction each of their calls makes. Failures are whet::Error
// "[<database path>] <operation>: <reason>".
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;

namespace whet {

// Opens the database at `path` for reading and writing, creating an empty file
// if there is none. Another process (a backup, the sqlite3 shell, a dashboard)
// may hold the lock for a moment: statements wait up to 5 s for it.
sqlite3* open_sqlite(const std::string& path);

// Finds damage now rather than halfway through a job: reads every page
// (milliseconds for the megabytes these stores hold) and fails on the first problem.
void check_sqlite_integrity(sqlite3* db, const std::string& path);

// Opens a store's database (open_sqlite) and brings its schema up to date, in one write transaction so two processes
// opening a new file do not both migrate it. Schema version N is reached from
// N - 1 by migrations[N - 1], which ends by setting user_version to N. A file
// with tables but another application_id belongs to another program and is
// refused ("not one of <owner>'s"); a newer schema asks for a newer Whet.
// Also sets WAL with synchronous=FULL (each commit on disk when it returns)
// and checks the file's integrity. The handle is the caller's to close; on an error none is left open.
sqlite3* open_sqlite_store(const std::string& path, int64_t application_id, std::span<const char* const> migrations,
                           std::string_view owner);

// A write transaction, from construction to commit(); left uncommitted (an
// exception on the way), it is rolled back. BEGIN IMMEDIATE takes the write lock
// at once, so what the transaction reads cannot change under it.
class SqliteTransaction {
 public:
  SqliteTransaction(sqlite3* db, const std::string& path, std::string_view operation);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  const std::string& path_;
  std::string_view operation_;
  bool open_ = true;
};

}  // namespace whet
