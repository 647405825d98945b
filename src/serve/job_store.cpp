#include "serve/job_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "core/error.h"
#include "io/sqlite_database.h"
#include "io/sqlite_statement.h"

// Concurrency: one connection behind one mutex. SQLite admits one writer at a
// time whatever we do, and the server's writes are few and small (a request, an
// event per training step), so a connection per thread would buy only parallel
// reads of a small database, for a connection per HTTP thread and SQLITE_BUSY
// waits between them. What it costs here: a read may wait out a commit's fsync.
//
// Durability: WAL with synchronous=FULL fsyncs the log at every commit, so each
// call's transaction survives a power cut once it has returned. NORMAL would
// only survive the process dying: the last commits can vanish with the machine,
// and an uploaded file or a cancel the client was told about must not. One fsync
// per write is cheap at this write rate.
namespace whet::serve {
namespace {

constexpr std::array kAllStatuses = {JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed,
                                     JobStatus::Cancelled};
constexpr int64_t kNoCursor = std::numeric_limits<int64_t>::max();  // "after" for the first page

// Schema version N is reached from N - 1 by kMigrations[N - 1], which ends by
// setting user_version to N; a database is never changed any other way. The
// application id ('WHET') tells our files from other SQLite databases.
//
// Newest-first order is rowid order reversed: rowids grow with every insert,
// while created_at has one-second ties. Events and feedback use AUTOINCREMENT so
// that a seq is never reused, even after the newest row is deleted. Completions
// are forgotten oldest first and never the newest, so their rowids keep growing
// (job_store_feedback.cpp counts on it). Human evaluation ratings are never
// updated in place: a rater's newer word on an item is a new row, so the
// history stays (job_store_human_eval.cpp).
constexpr int64_t kApplicationId = 0x57484554;
constexpr std::array<const char*, 4> kMigrations = {R"sql(
CREATE TABLE files (
  id TEXT PRIMARY KEY, filename TEXT NOT NULL, purpose TEXT NOT NULL, bytes INTEGER NOT NULL,
  lines INTEGER NOT NULL, created_at INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, training_file TEXT NOT NULL, validation_file TEXT NOT NULL,
  method TEXT NOT NULL, hyperparameters TEXT NOT NULL, status TEXT NOT NULL, fine_tuned_model TEXT NOT NULL,
  suffix TEXT NOT NULL, error TEXT, created_at INTEGER NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL, trained_tokens INTEGER NOT NULL, cancel_requested INTEGER NOT NULL,
  output_dir TEXT NOT NULL);
CREATE INDEX jobs_by_status ON jobs (status);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  level TEXT NOT NULL, message TEXT NOT NULL, data TEXT, type TEXT NOT NULL);
CREATE INDEX events_by_job ON events (job_id, seq);
CREATE TABLE checkpoints (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, step INTEGER NOT NULL, created_at INTEGER NOT NULL,
  metrics TEXT, path TEXT NOT NULL);
CREATE INDEX checkpoints_by_job ON checkpoints (job_id);
CREATE TABLE adapters (
  name TEXT PRIMARY KEY, base_model TEXT NOT NULL, path TEXT NOT NULL, created_at INTEGER NOT NULL);
PRAGMA application_id = 1464354132;
PRAGMA user_version = 1;
)sql", R"sql(
CREATE TABLE completions (
  id TEXT NOT NULL, choice_index INTEGER NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL,
  answer TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (id, choice_index));
CREATE TABLE feedback (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, created_at INTEGER NOT NULL,
  prompt TEXT NOT NULL, completions TEXT NOT NULL, rating TEXT NOT NULL, preferred_output TEXT,
  preferred INTEGER NOT NULL, comment TEXT NOT NULL);
PRAGMA user_version = 2;
)sql", R"sql(
ALTER TABLE jobs ADD COLUMN grader TEXT;
PRAGMA user_version = 3;
)sql", R"sql(
CREATE TABLE human_eval_sessions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, task TEXT NOT NULL,
  models TEXT NOT NULL, max_tokens INTEGER NOT NULL, temperature REAL NOT NULL, seed INTEGER NOT NULL,
  status TEXT NOT NULL, error TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE human_eval_prompts (
  session_id TEXT NOT NULL, prompt_index INTEGER NOT NULL, line INTEGER NOT NULL, prompt TEXT NOT NULL,
  PRIMARY KEY (session_id, prompt_index));
CREATE TABLE human_eval_answers (
  session_id TEXT NOT NULL, prompt_index INTEGER NOT NULL, model TEXT NOT NULL, text TEXT NOT NULL,
  finish_reason TEXT NOT NULL, PRIMARY KEY (session_id, prompt_index, model));
CREATE TABLE human_eval_items (
  session_id TEXT NOT NULL, item_id TEXT NOT NULL, position INTEGER NOT NULL, prompt_index INTEGER NOT NULL,
  first_model TEXT NOT NULL, second_model TEXT NOT NULL, PRIMARY KEY (session_id, item_id));
CREATE TABLE human_eval_shown (
  session_id TEXT NOT NULL, item_id TEXT NOT NULL, rater TEXT NOT NULL, model_a TEXT NOT NULL,
  model_b TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (session_id, item_id, rater));
CREATE TABLE human_eval_ratings (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, item_id TEXT NOT NULL, rater TEXT NOT NULL,
  model_a TEXT NOT NULL, model_b TEXT NOT NULL, choice TEXT NOT NULL, comment TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX human_eval_ratings_by_rater ON human_eval_ratings (session_id, item_id, rater, seq);
PRAGMA user_version = 4;
)sql"};
static_assert(kApplicationId == 1464354132);

constexpr std::string_view kSelectFile = "SELECT id, filename, purpose, bytes, lines, created_at, path FROM files";
StoredFile read_file_row(const Statement& row) {
  return StoredFile{row.text(0), row.text(1), row.text(2), row.integer(3), row.integer(4), row.integer(5), row.text(6)};
}

JobStatus row_status(const Statement& row, int column) {
  const std::string name = row.text(column);
  const std::optional<JobStatus> status = parse_job_status(name);
  if (!status) row.bad_column(column, fmt::format("holds an unknown job status '{}'", name));
  return *status;
}

constexpr std::string_view kSelectJob =
    "SELECT id, model, training_file, validation_file, method, hyperparameters, status, fine_tuned_model, suffix, "
    "error, created_at, started_at, finished_at, trained_tokens, cancel_requested, output_dir, grader FROM jobs";
Job read_job_row(const Statement& row) {
  Job job;
  job.id = row.text(0);
  job.model = row.text(1);
  job.training_file = row.text(2);
  job.validation_file = row.text(3);
  job.method = row.text(4);
  job.hyperparameters = row.json(5);
  job.status = row_status(row, 6);
  job.fine_tuned_model = row.text(7);
  job.suffix = row.text(8);
  job.error = row.json(9);
  job.created_at = row.integer(10);
  job.started_at = row.integer(11);
  job.finished_at = row.integer(12);
  job.trained_tokens = row.integer(13);
  job.cancel_requested = row.integer(14) != 0;
  job.output_dir = row.text(15);
  job.grader = row.json(16);
  return job;
}

constexpr std::string_view kEventIdPrefix = "ftevent-";
constexpr std::string_view kSelectEvent = "SELECT seq, job_id, created_at, level, message, data, type FROM events";
JobEvent read_event_row(const Statement& row) {
  JobEvent event;
  event.seq = row.integer(0);
  event.id = fmt::format("{}{}", kEventIdPrefix, event.seq);
  event.job_id = row.text(1);
  event.created_at = row.integer(2);
  event.level = row.text(3);
  event.message = row.text(4);
  event.data = row.json(5);
  event.type = row.text(6);
  return event;
}

constexpr std::string_view kSelectCheckpoint = "SELECT id, job_id, step, created_at, metrics, path FROM checkpoints";
JobCheckpoint read_checkpoint_row(const Statement& row) {
  return JobCheckpoint{row.text(0), row.text(1), row.integer(2), row.integer(3), row.json(4), row.text(5)};
}

std::string with(std::string_view select, std::string_view rest) { return fmt::format("{} {}", select, rest); }

template <typename Record, typename ReadRow>
std::vector<Record> all_rows(Statement& statement, ReadRow read_row) {
  std::vector<Record> records;
  while (statement.step()) records.push_back(read_row(statement));
  return records;
}

}  // namespace

std::string_view job_status_name(JobStatus status) {
  switch (status) {
    case JobStatus::Queued: return "queued";
    case JobStatus::Running: return "running";
    case JobStatus::Succeeded: return "succeeded";
    case JobStatus::Failed: return "failed";
    case JobStatus::Cancelled: return "cancelled";
  }
  WHET_ASSERT(false);
}

std::optional<JobStatus> parse_job_status(std::string_view name) {
  for (JobStatus status : kAllStatuses) {
    if (job_status_name(status) == name) return status;
  }
  return std::nullopt;
}

JobStore::JobStore(const std::string& db_path) : path_(db_path) {
  db_ = open_sqlite_store(path_, kApplicationId, kMigrations, "whet serve");
}

JobStore::~JobStore() { sqlite3_close_v2(db_); }

// 96 bits from the OS's random source: ids that cannot be guessed from one another.
std::string JobStore::random_id(std::string_view prefix) {
  return fmt::format("{}{:08x}{:08x}{:08x}", prefix, random_(), random_(), random_());
}

StoredFile JobStore::add_file(const std::string& filename, const std::string& purpose, int64_t bytes, int64_t lines,
                              const std::string& path) {
  std::lock_guard lock(mutex_);
  StoredFile file{random_id("file-"), filename, purpose, bytes, lines, now_seconds(), path};
  Statement(db_, path_, "add file",
            "INSERT INTO files (id, filename, purpose, bytes, lines, created_at, path) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(file.id, file.filename, file.purpose, file.bytes, file.lines, file.created_at, file.path)
      .run();
  return file;
}

std::optional<StoredFile> JobStore::get_file(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "get file", with(kSelectFile, "WHERE id = ?"));
  if (!statement.bind(id).step()) return std::nullopt;
  return read_file_row(statement);
}

std::vector<StoredFile> JobStore::list_files() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "list files", with(kSelectFile, "ORDER BY rowid DESC"));
  return all_rows<StoredFile>(statement, read_file_row);
}

bool JobStore::delete_file(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "delete file", "DELETE FROM files WHERE id = ?").bind(id).run();
  return sqlite3_changes(db_) > 0;
}

Job JobStore::create_job(Job job) {
  std::lock_guard lock(mutex_);
  job.id = random_id("ftjob-");
  job.created_at = now_seconds();
  job.status = JobStatus::Queued;
  job.cancel_requested = false;
  Statement(db_, path_, "create job",
            "INSERT INTO jobs (id, model, training_file, validation_file, method, hyperparameters, status, "
            "fine_tuned_model, suffix, error, created_at, started_at, finished_at, trained_tokens, cancel_requested, "
            "output_dir, grader) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(job.id, job.model, job.training_file, job.validation_file, job.method, job.hyperparameters,
            job_status_name(job.status), job.fine_tuned_model, job.suffix, job.error, job.created_at, job.started_at,
            job.finished_at, job.trained_tokens, job.cancel_requested, job.output_dir, job.grader)
      .run();
  return job;
}

std::optional<Job> JobStore::get_job(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "get job", with(kSelectJob, "WHERE id = ?"));
  if (!statement.bind(id).step()) return std::nullopt;
  return read_job_row(statement);
}

std::vector<Job> JobStore::list_jobs(const std::string& after_id, int limit) {
  std::lock_guard lock(mutex_);
  if (limit < 1) fail(path_, "list jobs: limit must be at least 1, not {}", limit);
  int64_t after = kNoCursor;
  if (!after_id.empty()) {
    Statement cursor(db_, path_, "list jobs", "SELECT rowid FROM jobs WHERE id = ?");
    if (!cursor.bind(after_id).step()) fail(path_, "list jobs: no job '{}' to list after", after_id);
    after = cursor.integer(0);
  }
  Statement statement(db_, path_, "list jobs", with(kSelectJob, "WHERE rowid < ? ORDER BY rowid DESC LIMIT ?"));
  statement.bind(after, limit);
  return all_rows<Job>(statement, read_job_row);
}

bool JobStore::update_job(const Job& job) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "update job",
            "UPDATE jobs SET model = ?, training_file = ?, validation_file = ?, method = ?, hyperparameters = ?, "
            "status = ?, fine_tuned_model = ?, suffix = ?, error = ?, created_at = ?, started_at = ?, "
            "finished_at = ?, trained_tokens = ?, cancel_requested = max(cancel_requested, ?), output_dir = ? "
            "WHERE id = ? AND status NOT IN (?, ?, ?)")
      .bind(job.model, job.training_file, job.validation_file, job.method, job.hyperparameters,
            job_status_name(job.status), job.fine_tuned_model, job.suffix, job.error, job.created_at, job.started_at,
            job.finished_at, job.trained_tokens, job.cancel_requested, job.output_dir, job.id,
            job_status_name(JobStatus::Succeeded), job_status_name(JobStatus::Failed),
            job_status_name(JobStatus::Cancelled))
      .run();
  if (sqlite3_changes(db_) > 0) return true;
  if (!Statement(db_, path_, "update job", "SELECT 1 FROM jobs WHERE id = ?").bind(job.id).step())
    fail(path_, "update job: no job '{}'", job.id);
  return false;
}

std::optional<Job> JobStore::next_runnable_job() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "next runnable job",
                      with(kSelectJob, "WHERE status IN (?1, ?2) ORDER BY status = ?1 DESC, rowid LIMIT 1"));
  if (!statement.bind(job_status_name(JobStatus::Running), job_status_name(JobStatus::Queued)).step())
    return std::nullopt;
  return read_job_row(statement);
}

bool JobStore::request_cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  // SET expressions read the row as it was, so `status = ?2` picks out the queued ones.
  Statement(db_, path_, "cancel job",
            "UPDATE jobs SET cancel_requested = 1, status = CASE WHEN status = ?2 THEN ?4 ELSE status END, "
            "finished_at = CASE WHEN status = ?2 THEN ?5 ELSE finished_at END "
            "WHERE id = ?1 AND status IN (?2, ?3)")
      .bind(id, job_status_name(JobStatus::Queued), job_status_name(JobStatus::Running),
            job_status_name(JobStatus::Cancelled), now_seconds())
      .run();
  return sqlite3_changes(db_) > 0;
}

std::map<JobStatus, int64_t> JobStore::job_counts() {
  std::lock_guard lock(mutex_);
  std::map<JobStatus, int64_t> counts;
  for (JobStatus status : kAllStatuses) counts[status] = 0;
  Statement statement(db_, path_, "count jobs", "SELECT status, count(*) FROM jobs GROUP BY status");
  while (statement.step()) counts[row_status(statement, 0)] = statement.integer(1);
  return counts;
}

JobEvent JobStore::add_event(const std::string& job_id, const std::string& level, const std::string& message,
                             const nlohmann::json& data, const std::string& type) {
  std::lock_guard lock(mutex_);
  const int64_t created_at = now_seconds();
  Statement(db_, path_, "add event",
            "INSERT INTO events (job_id, created_at, level, message, data, type) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(job_id, created_at, level, message, data, type)
      .run();
  const int64_t seq = sqlite3_last_insert_rowid(db_);
  return JobEvent{seq, fmt::format("{}{}", kEventIdPrefix, seq), job_id, created_at, level, message, data, type};
}

std::vector<JobEvent> JobStore::list_events(const std::string& job_id, const std::string& after_id, int limit) {
  std::lock_guard lock(mutex_);
  if (limit < 1) fail(path_, "list events: limit must be at least 1, not {}", limit);
  // An event id carries its seq, which is the cursor itself.
  int64_t after = kNoCursor;
  if (!after_id.empty()) {
    const std::string_view digits = std::string_view(after_id).substr(std::min(after_id.size(), kEventIdPrefix.size()));
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), after);
    if (!after_id.starts_with(kEventIdPrefix) || digits.empty() || ec != std::errc() ||
        end != digits.data() + digits.size())
      fail(path_, "list events: '{}' is not an event id", after_id);
  }
  Statement statement(db_, path_, "list events",
                      with(kSelectEvent, "WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"));
  statement.bind(job_id, after, limit);
  return all_rows<JobEvent>(statement, read_event_row);
}

JobCheckpoint JobStore::add_checkpoint(const std::string& job_id, int64_t step, const nlohmann::json& metrics,
                                       const std::string& path) {
  std::lock_guard lock(mutex_);
  JobCheckpoint checkpoint{random_id("ftckpt-"), job_id, step, now_seconds(), metrics, path};
  Statement(db_, path_, "add checkpoint",
            "INSERT INTO checkpoints (id, job_id, step, created_at, metrics, path) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(checkpoint.id, checkpoint.job_id, checkpoint.step, checkpoint.created_at, checkpoint.metrics,
            checkpoint.path)
      .run();
  return checkpoint;
}

std::vector<JobCheckpoint> JobStore::list_checkpoints(const std::string& job_id, const std::string& after_id,
                                                      int limit) {
  std::lock_guard lock(mutex_);
  if (limit < 1) fail(path_, "list checkpoints: limit must be at least 1, not {}", limit);
  int64_t after = kNoCursor;
  if (!after_id.empty()) {
    Statement cursor(db_, path_, "list checkpoints", "SELECT rowid FROM checkpoints WHERE id = ? AND job_id = ?");
    if (!cursor.bind(after_id, job_id).step())
      fail(path_, "list checkpoints: job '{}' has no checkpoint '{}' to list after", job_id, after_id);
    after = cursor.integer(0);
  }
  Statement statement(db_, path_, "list checkpoints",
                      with(kSelectCheckpoint, "WHERE job_id = ? AND rowid < ? ORDER BY rowid DESC LIMIT ?"));
  statement.bind(job_id, after, limit);
  return all_rows<JobCheckpoint>(statement, read_checkpoint_row);
}

void JobStore::put_adapter(const AdapterRecord& adapter) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "put adapter",
            "INSERT OR REPLACE INTO adapters (name, base_model, path, created_at) VALUES (?, ?, ?, ?)")
      .bind(adapter.name, adapter.base_model, adapter.path, adapter.created_at)
      .run();
}

bool JobStore::delete_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement(db_, path_, "delete adapter", "DELETE FROM adapters WHERE name = ?").bind(name).run();
  return sqlite3_changes(db_) > 0;
}

std::vector<AdapterRecord> JobStore::list_adapters() {
  std::lock_guard lock(mutex_);
  Statement statement(db_, path_, "list adapters",
                      "SELECT name, base_model, path, created_at FROM adapters ORDER BY name");
  return all_rows<AdapterRecord>(statement, [](const Statement& row) {
    return AdapterRecord{row.text(0), row.text(1), row.text(2), row.integer(3)};
  });
}

}  // namespace whet::serve
