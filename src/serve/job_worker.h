#pragma once
// Runs fine-tuning jobs one at a time, in a thread beside the server, and keeps
// their record: status, events (loss and evaluations as they happen),
// checkpoints. A job's result joins the served models the moment it succeeds
// (a reward job's head, the models POST /v1/score scores with). A server stopped or killed mid-job leaves the job "running" in the
// store; the next start resumes it from its newest checkpoint.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "serve/job_store.h"
#include "serve/model_registry.h"
#include "serve/reward_models.h"

namespace whet::serve {

class JobWorker {
 public:
  // Jobs write under data_dir/jobs/<id>.
  JobWorker(JobStore& store, ModelRegistry& models, RewardModels& rewards, std::string data_dir);
  ~JobWorker();  // the running job stops at a checkpoint and stays "running" for the next start
  JobWorker(const JobWorker&) = delete;
  JobWorker& operator=(const JobWorker&) = delete;

  void wake();  // a job was queued
  // Stops the job if it is the running one (the store already records the request).
  void cancel(const std::string& job_id);

  // The name a job's model is served under once it succeeds: the adapter's own
  // name for a job made through /v1/adapters, else "ft:<base>[:<suffix>]:<job id>".
  static std::string fine_tuned_name(const Job& job);

 private:
  void run();
  void run_job(Job job);
  // Serves what a succeeded job wrote to `output` under job.fine_tuned_model, and records it for restarts.
  void serve_result(const Job& job, const std::string& output, const std::string& gate_failure);

  JobStore& store_;
  ModelRegistry& models_;
  RewardModels& rewards_;
  std::string data_dir_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false, stopping_ = false;
  std::string running_job_;
  std::atomic<bool> stop_job_{false};
  std::thread thread_;
};

}  // namespace whet::serve
