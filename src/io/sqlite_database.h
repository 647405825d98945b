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

// Readies a store's schema on an open database, in WAL mode with synchronous=FULL
// (each commit on disk once it returns). A SQLite file whose application id is
// not `application_id` and which holds tables belongs to another program
// (`owner` says whose it should be, "one of whet serve's") and is refused
// before anything writes to it. Schema version N is reached from N - 1 by
// migrations[N - 1], which ends by setting user_version to N, all in one write
// transaction, so two processes opening a new file migrate it once.
void migrate_sqlite(sqlite3* db, const std::string& path, int64_t application_id,
                    std::span<const char* const> migrations, std::string_view owner);

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
