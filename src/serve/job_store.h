#pragma once
// The durable state of `whet serve`: uploaded files, fine-tuning jobs, their
// events and checkpoints, the adapters being served, and the completions the
// server produced with the feedback given on them, in one SQLite file.
// Every call is one transaction that is on disk before it returns, so a server
// killed at any moment restarts with everything it had acknowledged.
// Thread-safe: one connection behind one mutex (see job_store.cpp for why).
// Failures are whet::Error "[<database path>] <operation>: <reason>".
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace whet::serve {

struct StoredFile {
  std::string id;        // "file-<hex>"
  std::string filename;  // the client's display name only, never a path
  std::string purpose;   // "fine-tune"
  int64_t bytes = 0;
  int64_t lines = 0;
  int64_t created_at = 0;  // Unix seconds, like every time here
  std::string path;        // absolute, under the data dir
  friend bool operator==(const StoredFile&, const StoredFile&) = default;
};

enum class JobStatus { Queued, Running, Succeeded, Failed, Cancelled };
std::string_view job_status_name(JobStatus status);  // OpenAI's names: "queued", "running", ...
std::optional<JobStatus> parse_job_status(std::string_view name);

struct Job {
  std::string id;                              // "ftjob-<hex>"
  std::string model;                           // base model name
  std::string training_file, validation_file;  // file ids; validation may be ""
  std::string method = "lora";                 // "lora" | "full" | an rl method: dpo, simpo, orpo, kto, reward, grpo
  nlohmann::json hyperparameters = nlohmann::json::object();
  nlohmann::json grader;                       // grpo: the grader object that scores its rollouts; else null
  JobStatus status = JobStatus::Queued;
  std::string fine_tuned_model;  // the name it is served under once succeeded
  std::string suffix;
  nlohmann::json error;                                     // null or {"code", "message"}
  int64_t created_at = 0, started_at = 0, finished_at = 0;  // 0: not yet
  int64_t trained_tokens = 0;
  bool cancel_requested = false;
  std::string output_dir;
  friend bool operator==(const Job&, const Job&) = default;
};

struct JobEvent {
  int64_t seq = 0;  // increases with every event in the store, whichever job it belongs to
  std::string id;   // "ftevent-<seq>"
  std::string job_id;
  int64_t created_at = 0;
  std::string level;  // "info" | "warn" | "error"
  std::string message;
  nlohmann::json data;  // e.g. {"step": 3, "train_loss": 2.1}, or null
  std::string type;     // "message" | "metrics"
  friend bool operator==(const JobEvent&, const JobEvent&) = default;
};

struct JobCheckpoint {
  std::string id;  // "ftckpt-<hex>"
  std::string job_id;
  int64_t step = 0;
  int64_t created_at = 0;
  nlohmann::json metrics;
  std::string path;
  friend bool operator==(const JobCheckpoint&, const JobCheckpoint&) = default;
};

// An adapter the server serves, recorded so that it is served again after a restart.
struct AdapterRecord {
  std::string name;
  std::string base_model;
  std::string path;
  int64_t created_at = 0;
  friend bool operator==(const AdapterRecord&, const AdapterRecord&) = default;
};

// One choice of a completion the server produced, kept so that feedback can name it.
struct StoredCompletion {
  std::string id;             // the response's "id": "chatcmpl-<hex>" or "cmpl-<hex>"
  int64_t choice_index = 0;   // its "index" in the response's choices
  std::string model;          // as the request named it
  nlohmann::json prompt;      // a chat's messages [{"role", "content"}], or a text completion's prompt string
  std::string answer;         // the generated text, without an echoed prompt
  int64_t created_at = 0;
  friend bool operator==(const StoredCompletion&, const StoredCompletion&) = default;
};

// {"id", "choice_index", "model", "answer", "created_at"}: a completion without its
// prompt, as a feedback row keeps it and the feedback API shows it.
nlohmann::json completion_json(const StoredCompletion& completion);

// Feedback on completions, holding copies of them (prompt and answers), so it
// outlives the completions the store forgets.
struct Feedback {
  std::string id;      // "fb-<hex>"
  int64_t created_at = 0;
  std::string kind;    // "rating" (one completion) or "comparison" (two, of the same prompt)
  std::vector<StoredCompletion> completions;    // rating: the one rated; comparison: A and B
  std::string rating;                           // rating: "up" or "down"; comparison: ""
  std::optional<std::string> preferred_output;  // rating: the answer the user wanted instead, if given
  int64_t preferred = -1;                       // comparison: 0 (A) or 1 (B); rating: -1
  std::string comment;                          // "" when none
  friend bool operator==(const Feedback&, const Feedback&) = default;
};

// Per served model name, what the completions still kept received: how many
// choices are kept, how many feedback items name one of them (a comparison names
// two), and of the ratings among those how many were up and down.
struct FeedbackTally {
  int64_t completions = 0;
  int64_t feedback = 0;
  int64_t up = 0, down = 0;
  friend bool operator==(const FeedbackTally&, const FeedbackTally&) = default;
};

// Jobs, events, checkpoints and feedback are listed newest first and paged the OpenAI way:
// `after_id` is the id of the last item of the previous page ("" for the first
// page) and `limit` (at least 1) caps the page. An `after_id` the store does not
// hold is a whet::Error.
class JobStore {
 public:
  // Creates the file or opens it and migrates its schema. A file that is not a
  // SQLite database, is corrupted or was written by a newer Whet is an error.
  explicit JobStore(const std::string& db_path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Files. The store records them; writing and removing the bytes at `path` is the caller's.
  StoredFile add_file(const std::string& filename, const std::string& purpose, int64_t bytes, int64_t lines,
                      const std::string& path);  // assigns id and created_at
  std::optional<StoredFile> get_file(const std::string& id);
  std::vector<StoredFile> list_files();     // newest first
  bool delete_file(const std::string& id);  // false: no such file

  // Jobs.
  Job create_job(Job job);  // assigns id and created_at; status Queued, no cancel request
  std::optional<Job> get_job(const std::string& id);
  std::vector<Job> list_jobs(const std::string& after_id, int limit);
  // Writes the whole row, with two exceptions that keep a stale copy from undoing
  // another thread's word: a cancel request is never cleared, and a job already
  // succeeded, failed or cancelled is left as it is (false is returned; e.g. a
  // queued job cancelled while the worker was picking it up). An unknown id is an error.
  bool update_job(const Job& job);
  // A Running job first (the server stopped while running it: resume it), else the oldest Queued.
  std::optional<Job> next_runnable_job();
  // Requests the cancellation of a queued or running job; a queued one becomes
  // Cancelled at once. False if the job is unknown or already final.
  bool request_cancel(const std::string& id);
  std::map<JobStatus, int64_t> job_counts();  // every status, 0 included

  // Events and checkpoints of a job.
  JobEvent add_event(const std::string& job_id, const std::string& level, const std::string& message,
                     const nlohmann::json& data = nullptr, const std::string& type = "message");
  std::vector<JobEvent> list_events(const std::string& job_id, const std::string& after_id, int limit);
  JobCheckpoint add_checkpoint(const std::string& job_id, int64_t step, const nlohmann::json& metrics,
                               const std::string& path);
  std::vector<JobCheckpoint> list_checkpoints(const std::string& job_id, const std::string& after_id, int limit);

  // Adapters, by name.
  void put_adapter(const AdapterRecord& adapter);  // insert, or replace the one of that name
  bool delete_adapter(const std::string& name);    // false: no such adapter
  std::vector<AdapterRecord> list_adapters();      // by name

  // Completions (serve/job_store_feedback.cpp). The newest `keep` choices are
  // kept and older ones forgotten, so a busy server's file stays bounded; keep 0
  // stores nothing. The choices of one response are written in one transaction.
  void add_completions(const std::vector<StoredCompletion>& choices, int64_t keep);
  std::optional<StoredCompletion> get_completion(const std::string& id, int64_t choice_index);
  int64_t completion_count();

  // Feedback.
  Feedback add_feedback(Feedback feedback);  // assigns id and created_at
  std::vector<Feedback> list_feedback(const std::string& after_id, int limit);
  // Over the kept completions only, so a rate of feedback per completion counts
  // both over the same span however many completions were forgotten.
  std::map<std::string, FeedbackTally> feedback_by_model();

 private:
  std::string random_id(std::string_view prefix);

  std::string path_;
  std::mutex mutex_;  // guards db_ and random_
  sqlite3* db_ = nullptr;
  std::random_device random_;
};

}  // namespace whet::serve
