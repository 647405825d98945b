#pragma once
// A job store taken back to an older schema, for the tests that open such a
// database and check what the migrations after it add.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "serve/job_store.h"

namespace whet::test {

// Makes a store at `path` holding one job, then runs `rollback_sql` on the file
// (it drops what later migrations added and sets user_version). Returns the job's id.
inline std::string job_store_rolled_back(const std::string& path, const std::string& rollback_sql) {
  std::string job_id;
  {
    serve::JobStore store(path);
    serve::Job job;
    job.model = "tiny";
    job.training_file = "file-a";
    job_id = store.create_job(job).id;
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, rollback_sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  return job_id;
}

}  // namespace whet::test
