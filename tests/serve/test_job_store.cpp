// The server's SQLite store: records read back as written, OpenAI-style pages,
// the worker's choice of job, cancel rules, nothing lost across a restart or a
// killed process, concurrent writers, and clear errors for files it cannot use.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "serve/job_store.h"
#include "test_support.h"

namespace whet::serve {
namespace {

std::string db_path() { return test::this_test_scratch("job_store_") + "/whet.db"; }

Job sample_job(const std::string& model = "SmolLM2-135M") {
  Job job;
  job.model = model;
  job.training_file = "file-train";
  job.validation_file = "file-valid";
  job.method = "full";
  job.hyperparameters = {{"n_epochs", 2}, {"learning_rate_multiplier", 0.5}};
  job.suffix = "tickets";
  job.output_dir = "/data/jobs/x";
  return job;
}

template <typename Record>
std::vector<std::string> ids(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const Record& r : records) out.push_back(r.id);
  return out;
}

void expect_random_id(const std::string& id, const std::string& prefix) {
  ASSERT_TRUE(id.starts_with(prefix)) << id;
  EXPECT_EQ(id.size(), prefix.size() + 24) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", prefix.size()), std::string::npos) << id;
}

TEST(JobStore, JobStatusNamesAreOpenAIsAndParseBack) {
  EXPECT_EQ(job_status_name(JobStatus::Queued), "queued");
  EXPECT_EQ(job_status_name(JobStatus::Running), "running");
  EXPECT_EQ(job_status_name(JobStatus::Succeeded), "succeeded");
  EXPECT_EQ(job_status_name(JobStatus::Failed), "failed");
  EXPECT_EQ(job_status_name(JobStatus::Cancelled), "cancelled");
  for (JobStatus s :
       {JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed, JobStatus::Cancelled})
    EXPECT_EQ(parse_job_status(job_status_name(s)), s);
  EXPECT_EQ(parse_job_status("validating_files"), std::nullopt);
}

TEST(JobStore, FilesRoundTripNewestFirstAndDelete) {
  JobStore store(db_path());
  const StoredFile a = store.add_file("train.jsonl", "fine-tune", 1234, 10, "/data/files/a");
  const StoredFile b = store.add_file("valid \"quoted\".jsonl", "fine-tune", 56, 2, "/data/files/b");
  expect_random_id(a.id, "file-");
  EXPECT_NE(a.id, b.id);
  EXPECT_GT(a.created_at, 0);
  EXPECT_EQ(a.filename, "train.jsonl");
  EXPECT_EQ(a.bytes, 1234);
  EXPECT_EQ(a.lines, 10);
  EXPECT_EQ(store.get_file(a.id), a);
  EXPECT_EQ(store.list_files(), (std::vector<StoredFile>{b, a}));
  EXPECT_TRUE(store.delete_file(a.id));
  EXPECT_FALSE(store.delete_file(a.id));
  EXPECT_EQ(store.get_file(a.id), std::nullopt);
  EXPECT_EQ(store.list_files(), std::vector<StoredFile>{b});
}

TEST(JobStore, JobsRoundTripEveryField) {
  JobStore store(db_path());
  Job requested = sample_job();
  requested.status = JobStatus::Failed;  // create_job starts every job queued, uncancelled
  requested.cancel_requested = true;
  const Job job = store.create_job(requested);
  expect_random_id(job.id, "ftjob-");
  EXPECT_EQ(job.status, JobStatus::Queued);
  EXPECT_FALSE(job.cancel_requested);
  EXPECT_GT(job.created_at, 0);
  EXPECT_EQ(store.get_job(job.id), job);
  EXPECT_EQ(store.get_job("ftjob-missing"), std::nullopt);

  Job done = job;
  done.status = JobStatus::Succeeded;
  done.fine_tuned_model = "ft:SmolLM2-135M:tickets:abc";
  done.error = {{"code", "none"}, {"message", "ünïcode \"and\" quotes"}};
  done.hyperparameters["batch_size"] = 8;
  done.started_at = job.created_at + 1;
  done.finished_at = job.created_at + 60;
  done.trained_tokens = 123456789012;
  done.validation_file = "";
  EXPECT_TRUE(store.update_job(done));
  EXPECT_EQ(store.get_job(job.id), done);
}

TEST(JobStore, ListJobsPagesNewestFirstAfterTheLastId) {
  JobStore store(db_path());
  std::vector<std::string> created;  // oldest first; all within the same second, mostly
  for (int i = 0; i < 5; ++i) created.push_back(store.create_job(sample_job("m" + std::to_string(i))).id);
  EXPECT_EQ(ids(store.list_jobs("", 100)),
            (std::vector<std::string>{created[4], created[3], created[2], created[1], created[0]}));
  EXPECT_EQ(ids(store.list_jobs("", 2)), (std::vector<std::string>{created[4], created[3]}));
  EXPECT_EQ(ids(store.list_jobs(created[3], 2)), (std::vector<std::string>{created[2], created[1]}));
  EXPECT_EQ(ids(store.list_jobs(created[1], 2)), std::vector<std::string>{created[0]});
  EXPECT_TRUE(store.list_jobs(created[0], 2).empty());
  test::expect_error([&] { store.list_jobs("ftjob-nope", 2); }, {"whet.db", "list jobs", "ftjob-nope"});
  test::expect_error([&] { store.list_jobs("", 0); }, {"list jobs", "limit"});
}

TEST(JobStore, NextRunnableJobResumesARunningJobBeforeTheOldestQueued) {
  JobStore store(db_path());
  EXPECT_EQ(store.next_runnable_job(), std::nullopt);
  Job a = store.create_job(sample_job("a"));
  Job b = store.create_job(sample_job("b"));
  const Job c = store.create_job(sample_job("c"));
  EXPECT_EQ(store.next_runnable_job()->id, a.id);

  b.status = JobStatus::Running;  // as a server killed while running b leaves it
  store.update_job(b);
  EXPECT_EQ(store.next_runnable_job()->id, b.id);

  b.status = JobStatus::Succeeded;
  store.update_job(b);
  EXPECT_EQ(store.next_runnable_job()->id, a.id);
  a.status = JobStatus::Failed;
  store.update_job(a);
  EXPECT_EQ(store.next_runnable_job()->id, c.id);
  EXPECT_TRUE(store.request_cancel(c.id));
  EXPECT_EQ(store.next_runnable_job(), std::nullopt);
}

TEST(JobStore, CancelEndsAQueuedJobAndFlagsARunningOne) {
  JobStore store(db_path());
  const Job queued = store.create_job(sample_job());
  EXPECT_TRUE(store.request_cancel(queued.id));
  const Job cancelled = *store.get_job(queued.id);
  EXPECT_EQ(cancelled.status, JobStatus::Cancelled);
  EXPECT_TRUE(cancelled.cancel_requested);
  EXPECT_GE(cancelled.finished_at, queued.created_at);
  EXPECT_FALSE(store.request_cancel(queued.id));  // already final

  Job running = store.create_job(sample_job());
  running.status = JobStatus::Running;
  store.update_job(running);
  EXPECT_TRUE(store.request_cancel(running.id));
  EXPECT_TRUE(store.request_cancel(running.id));  // asking twice is no error
  const Job flagged = *store.get_job(running.id);
  EXPECT_EQ(flagged.status, JobStatus::Running);  // the worker stops it at its next check
  EXPECT_TRUE(flagged.cancel_requested);
  EXPECT_EQ(flagged.finished_at, 0);

  Job succeeded = store.create_job(sample_job());
  succeeded.status = JobStatus::Succeeded;
  store.update_job(succeeded);
  EXPECT_FALSE(store.request_cancel(succeeded.id));
  EXPECT_FALSE(store.get_job(succeeded.id)->cancel_requested);
  EXPECT_FALSE(store.request_cancel("ftjob-missing"));
}

TEST(JobStore, AStaleJobCopyNeitherClearsACancelNorReopensAFinalJob) {
  JobStore store(db_path());
  // The worker holds a copy of a running job while a request cancels it.
  Job worker_copy = store.create_job(sample_job());
  worker_copy.status = JobStatus::Running;
  store.update_job(worker_copy);
  store.request_cancel(worker_copy.id);
  worker_copy.trained_tokens = 4096;
  EXPECT_TRUE(store.update_job(worker_copy));
  const Job stored = *store.get_job(worker_copy.id);
  EXPECT_EQ(stored.trained_tokens, 4096);
  EXPECT_TRUE(stored.cancel_requested);
  worker_copy.status = JobStatus::Cancelled;  // the worker obeys
  EXPECT_TRUE(store.update_job(worker_copy));

  // The worker picks a queued job just as a request cancels it: the cancel stands.
  const Job queued = store.create_job(sample_job());
  const Job picked = *store.next_runnable_job();
  ASSERT_EQ(picked.id, queued.id);
  EXPECT_TRUE(store.request_cancel(picked.id));
  Job started = picked;
  started.status = JobStatus::Running;
  EXPECT_FALSE(store.update_job(started));
  EXPECT_EQ(store.get_job(picked.id)->status, JobStatus::Cancelled);

  Job unknown = sample_job();
  unknown.id = "ftjob-missing";
  test::expect_error([&] { store.update_job(unknown); }, {"whet.db", "update job", "ftjob-missing"});
}

TEST(JobStore, JobCountsCoverEveryStatus) {
  JobStore store(db_path());
  store.create_job(sample_job());
  store.create_job(sample_job());
  store.request_cancel(store.create_job(sample_job()).id);
  const std::map<JobStatus, int64_t> expected = {{JobStatus::Queued, 2},
                                                 {JobStatus::Running, 0},
                                                 {JobStatus::Succeeded, 0},
                                                 {JobStatus::Failed, 0},
                                                 {JobStatus::Cancelled, 1}};
  EXPECT_EQ(store.job_counts(), expected);
}

TEST(JobStore, EventsRoundTripNewestFirstPerJob) {
  JobStore store(db_path());
  const JobEvent first = store.add_event("ftjob-a", "info", "Job started");
  const JobEvent other = store.add_event("ftjob-b", "warn", "Other job");
  const JobEvent metrics =
      store.add_event("ftjob-a", "info", "Step 3", {{"step", 3}, {"train_loss", 2.125}}, "metrics");
  const JobEvent last = store.add_event("ftjob-a", "error", "Line 1\nline \"2\"");
  EXPECT_EQ(first.id, "ftevent-" + std::to_string(first.seq));
  EXPECT_EQ(first.type, "message");
  EXPECT_TRUE(first.data.is_null());
  EXPECT_LT(first.seq, other.seq);
  EXPECT_LT(other.seq, metrics.seq);
  EXPECT_LT(metrics.seq, last.seq);

  EXPECT_EQ(store.list_events("ftjob-a", "", 10), (std::vector<JobEvent>{last, metrics, first}));
  EXPECT_EQ(store.list_events("ftjob-a", "", 2), (std::vector<JobEvent>{last, metrics}));
  EXPECT_EQ(store.list_events("ftjob-a", metrics.id, 2), std::vector<JobEvent>{first});
  EXPECT_TRUE(store.list_events("ftjob-a", first.id, 2).empty());
  EXPECT_EQ(store.list_events("ftjob-b", "", 10), std::vector<JobEvent>{other});
  EXPECT_TRUE(store.list_events("ftjob-none", "", 10).empty());
  for (const std::string bad : {"ftevent-", "ftevent-x1", "ftckpt-3", "ftevent-3a"})
    test::expect_error([&] { store.list_events("ftjob-a", bad, 10); }, {"whet.db", "list events", bad});
}

TEST(JobStore, CheckpointsRoundTripNewestFirstPerJob) {
  JobStore store(db_path());
  const JobCheckpoint c10 = store.add_checkpoint("ftjob-a", 10, {{"train_loss", 2.5}}, "/data/jobs/a/step-10");
  const JobCheckpoint other = store.add_checkpoint("ftjob-b", 5, nullptr, "/data/jobs/b/step-5");
  const JobCheckpoint c20 =
      store.add_checkpoint("ftjob-a", 20, {{"train_loss", 2.0}, {"valid_loss", 2.25}}, "/data/jobs/a/step-20");
  expect_random_id(c10.id, "ftckpt-");
  EXPECT_EQ(c20.step, 20);
  EXPECT_EQ(store.list_checkpoints("ftjob-a", "", 10), (std::vector<JobCheckpoint>{c20, c10}));
  EXPECT_EQ(store.list_checkpoints("ftjob-a", "", 1), std::vector<JobCheckpoint>{c20});
  EXPECT_EQ(store.list_checkpoints("ftjob-a", c20.id, 1), std::vector<JobCheckpoint>{c10});
  EXPECT_TRUE(store.list_checkpoints("ftjob-a", c10.id, 1).empty());
  EXPECT_EQ(store.list_checkpoints("ftjob-b", "", 10), std::vector<JobCheckpoint>{other});
  test::expect_error([&] { store.list_checkpoints("ftjob-b", c10.id, 1); }, {"list checkpoints", c10.id});
}

TEST(JobStore, AdaptersAreReplacedByNameAndDeleted) {
  JobStore store(db_path());
  const AdapterRecord b{"ft:b", "SmolLM2-135M", "/data/jobs/b/adapter", 100};
  store.put_adapter({"ft:a", "SmolLM2-135M", "/data/jobs/a/adapter", 50});
  store.put_adapter(b);
  const AdapterRecord a2{"ft:a", "SmolLM2-360M", "/data/jobs/a2/adapter", 200};
  store.put_adapter(a2);
  EXPECT_EQ(store.list_adapters(), (std::vector<AdapterRecord>{a2, b}));
  EXPECT_TRUE(store.delete_adapter("ft:a"));
  EXPECT_FALSE(store.delete_adapter("ft:a"));
  EXPECT_EQ(store.list_adapters(), std::vector<AdapterRecord>{b});
}

// Everything one store wrote, and what another reads back from the same file.
struct Written {
  StoredFile file;
  Job job;
  JobEvent event;
  JobCheckpoint checkpoint;
  AdapterRecord adapter;
};

Written write_one_of_each(JobStore& store) {
  Written w;
  w.file = store.add_file("train.jsonl", "fine-tune", 10, 1, "/data/files/f");
  w.job = store.create_job(sample_job());
  w.job.status = JobStatus::Running;
  w.job.started_at = w.job.created_at;
  store.update_job(w.job);
  w.event = store.add_event(w.job.id, "info", "Step 1", {{"step", 1}}, "metrics");
  w.checkpoint = store.add_checkpoint(w.job.id, 1, {{"train_loss", 3.0}}, "/data/jobs/x/step-1");
  w.adapter = {"ft:x", "SmolLM2-135M", "/data/jobs/x/adapter", 7};
  store.put_adapter(w.adapter);
  return w;
}

void expect_read_back(JobStore& store, const Written& w) {
  EXPECT_EQ(store.list_files(), std::vector<StoredFile>{w.file});
  EXPECT_EQ(store.list_jobs("", 10), std::vector<Job>{w.job});
  EXPECT_EQ(store.next_runnable_job(), w.job);  // the interrupted job, to resume
  EXPECT_EQ(store.list_events(w.job.id, "", 10), std::vector<JobEvent>{w.event});
  EXPECT_EQ(store.list_checkpoints(w.job.id, "", 10), std::vector<JobCheckpoint>{w.checkpoint});
  EXPECT_EQ(store.list_adapters(), std::vector<AdapterRecord>{w.adapter});
  // Sequence numbers go on from where they were.
  EXPECT_GT(store.add_event(w.job.id, "info", "Resumed").seq, w.event.seq);
}

TEST(JobStore, NothingIsLostAcrossReopening) {
  const std::string path = db_path();
  Written written;
  {
    JobStore store(path);
    written = write_one_of_each(store);
  }
  JobStore reopened(path);
  expect_read_back(reopened, written);
}

// A process killed mid-job never closes the database: what it had written must still be there.
TEST(JobStore, NothingIsLostWhenTheProcessDiesWithoutClosing) {
  const std::string path = db_path();
  const std::string written_ids = path + ".ids";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 1;
    try {
      auto* store = new JobStore(path);  // never destroyed: the process just ends
      const Written w = write_one_of_each(*store);
      std::ofstream(written_ids) << w.job.id << "\n" << w.event.seq << "\n";
      code = 0;
    } catch (...) {
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream in(written_ids);
  std::string job_id;
  int64_t seq = 0;
  in >> job_id >> seq;

  JobStore reopened(path);
  const std::optional<Job> job = reopened.next_runnable_job();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->id, job_id);
  EXPECT_EQ(job->status, JobStatus::Running);
  EXPECT_EQ(reopened.list_files().size(), 1u);
  EXPECT_EQ(reopened.list_events(job_id, "", 10).at(0).seq, seq);
  EXPECT_EQ(reopened.list_checkpoints(job_id, "", 10).size(), 1u);
  EXPECT_EQ(reopened.list_adapters().size(), 1u);
}

TEST(JobStore, ConcurrentWritersLoseNoEventsAndSeqOnlyGrows) {
  JobStore store(db_path());
  constexpr int kThreads = 4, kEvents = 25;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEvents; ++i) {
        const nlohmann::json data = {{"thread", t}, {"i", i}};
        seqs[t].push_back(store.add_event("ftjob-shared", "info", fmt::format("event {}", i), data, "metrics").seq);
        if (i % 5 == 0) store.create_job(sample_job());
        store.list_events("ftjob-shared", "", 3);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::set<int64_t> all;
  for (const std::vector<int64_t>& s : seqs) {
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end())) << "a thread's events out of order";
    all.insert(s.begin(), s.end());
  }
  EXPECT_EQ(all.size(), size_t(kThreads * kEvents));
  const std::vector<JobEvent> events = store.list_events("ftjob-shared", "", 1000);
  ASSERT_EQ(events.size(), size_t(kThreads * kEvents));
  std::vector<int> next(kThreads, kEvents - 1);  // newest first: each thread's events count down
  for (size_t k = 0; k < events.size(); ++k) {
    if (k > 0) {
      EXPECT_LT(events[k].seq, events[k - 1].seq);
    }
    EXPECT_TRUE(all.contains(events[k].seq));
    const int t = events[k].data["thread"];
    EXPECT_EQ(events[k].data["i"], next[t]--);
  }
  EXPECT_EQ(store.list_jobs("", 100).size(), size_t(kThreads * kEvents / 5));
}

TEST(JobStore, AFileThatIsNotSqliteIsAnErrorNamingIt) {
  const std::string path = db_path();
  std::ofstream(path) << "{\"this is\": \"a JSON file, not a database, and long enough to hold a header\"}\n";
  test::expect_error([&] { JobStore store(path); }, {path, "open", "not a database"});
}

TEST(JobStore, ACorruptedDatabaseIsAnErrorNamingIt) {
  const std::string path = db_path();
  {
    JobStore store(path);
    for (int i = 0; i < 20; ++i) store.add_event(store.create_job(sample_job()).id, "info", std::string(500, 'x'));
  }
  // Every page but the first (the header and the schema) overwritten.
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  ASSERT_GT(size, 3 * 4096);
  file.seekp(4096);
  file << std::string(size_t(size - 4096), '\xab');
  file.close();
  test::expect_error([&] { JobStore store(path); }, {path, "open", "move it aside"});
}

TEST(JobStore, AnotherProgramsSqliteDatabaseIsLeftAlone) {
  const std::string path = db_path();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes (text TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  test::expect_error([&] { JobStore store(path); }, {path, "open", "not one of whet serve's"});
}

TEST(JobStore, ASchemaFromANewerWhetIsRefused) {
  const std::string path = db_path();
  { JobStore store(path); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  test::expect_error([&] { JobStore store(path); }, {path, "open", "schema version 99", "newer"});
}

TEST(JobStore, AMissingFolderIsAnErrorNamingThePath) {
  const std::string path = test::this_test_scratch("job_store_") + "/no/such/folder/whet.db";
  test::expect_error([&] { JobStore store(path); }, {path, "open", "unable to open"});
}

}  // namespace
}  // namespace whet::serve
