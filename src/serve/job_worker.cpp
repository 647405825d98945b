#include "serve/job_worker.h"

#include <cmath>
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "core/openmp_team.h"
#include "models/lora_files.h"
#include "models/model_loader.h"
#include "serve/job_request.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

}  // namespace

JobWorker::JobWorker(JobStore& store, ModelRegistry& models, RewardModels& rewards, std::string data_dir)
    : store_(store), models_(models), rewards_(rewards), data_dir_(std::move(data_dir)) {
  thread_ = std::thread([this] { run(); });
}

JobWorker::~JobWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_job_ = true;
  wake_.notify_all();
  thread_.join();
}

void JobWorker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void JobWorker::cancel(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  if (running_job_ == job_id) stop_job_ = true;
}

std::string JobWorker::fine_tuned_name(const Job& job) {
  if (!job.fine_tuned_model.empty()) return job.fine_tuned_model;
  return "ft:" + job.model + (job.suffix.empty() ? "" : ":" + job.suffix) + ":" + job.id;
}

void JobWorker::run() {
  for (;;) {
    std::optional<Job> job;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    job = store_.next_runnable_job();
    if (!job) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || woken_; });
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      running_job_ = job->id;
      stop_job_ = job->cancel_requested;
    }
    run_job(std::move(*job));
    release_openmp_team();  // the training's team would slow the engines (core/openmp_team.h)
    std::lock_guard lock(mutex_);
    running_job_.clear();
  }
}

void JobWorker::run_job(Job job) {
  const bool resuming = job.status == JobStatus::Running;
  job.output_dir = data_dir_ + "/jobs/" + job.id;
  const bool has_checkpoint = resuming && !latest_checkpoint(job.output_dir).empty();
  if (!resuming) job.started_at = int64_t(std::time(nullptr));
  job.status = JobStatus::Running;
  if (!store_.update_job(job)) return;  // cancelled between being picked and starting
  store_.add_event(job.id, "info", resuming ? (has_checkpoint ? "Job resumed from its last checkpoint after a restart"
                                                              : "Job restarted from the beginning after a restart")
                                            : "Fine-tuning job started");

  auto finish = [&](JobStatus status, json error = nullptr) {
    job.status = status;
    job.error = std::move(error);
    job.finished_at = int64_t(std::time(nullptr));
    store_.update_job(job);
  };
  try {
    const auto route = models_.find(job.model);
    if (!route || route->adapter) fail("job", "the base model '{}' is no longer served", job.model);
    const auto train_file = store_.get_file(job.training_file);
    if (!train_file) fail("job", "the training file {} was deleted", job.training_file);
    std::string validation_path;
    if (!job.validation_file.empty()) {
      const auto validation = store_.get_file(job.validation_file);
      if (!validation) fail("job", "the validation file {} was deleted", job.validation_file);
      validation_path = validation->path;
    }
    const TrainConfig config =
        job_train_config(job, {route->model->path, train_file->path, validation_path, job.output_dir});

    TrainRunOptions options;
    options.resume = has_checkpoint;
    options.run_source = "job";
    options.stop = &stop_job_;
    options.on_report = [&](const StepReport& r) {
      json data = {{"step", r.step}, {"total_steps", r.total_steps}, {"epoch", r.epoch}};
      if (r.is_eval) {
        data["valid_loss"] = finite_or_null(r.val_loss);
        for (const auto& [name, value] : r.eval_metrics) data[name] = finite_or_null(value);
        store_.add_event(job.id, "info", fmt::format("Step {}/{}: validation loss={:.4f}", r.step, r.total_steps,
                                                     r.val_loss), data, "metrics");
      } else {
        data["train_loss"] = r.loss;
        data["learning_rate"] = r.lr;
        if (!std::isnan(r.replay_loss)) data["replay_loss"] = r.replay_loss;
        if (!std::isnan(r.distill_loss)) data["distill_loss"] = r.distill_loss;
        for (const auto& [name, value] : r.values) data[name] = finite_or_null(value);  // a DPO job's rewards too
        store_.add_event(job.id, "info", fmt::format("Step {}/{}: training loss={:.4f}", r.step, r.total_steps, r.loss),
                         data, "metrics");
      }
    };
    options.on_message = [&](const std::string& line) { store_.add_event(job.id, "info", line); };
    options.learning_rate_scale = job_learning_rate_scale(job);
    options.on_resolved = [&](const TrainConfig& resolved, const std::vector<AutoDecision>&) {
      report_resolved_hyperparameters(job, resolved);
      store_.update_job(job);
    };
    options.on_checkpoint = [&](int64_t step, const std::string& dir) {
      store_.add_checkpoint(job.id, step, {{"step", step}}, dir);
    };
    const TrainRunResult result = run_training(config, options);

    if (result.interrupted) {
      const auto current = store_.get_job(job.id);
      if (current && current->cancel_requested) {
        store_.add_event(job.id, "info", "Job cancelled");
        finish(JobStatus::Cancelled);
      } else {
        store_.add_event(job.id, "info", "Server stopping: the job will resume from its checkpoint");
      }
      return;
    }
    job.fine_tuned_model = fine_tuned_name(job);
    const std::string gate_failure = gate_failure_in(result.output);
    serve_result(job, result.output, gate_failure);
    if (!gate_failure.empty())
      store_.add_event(job.id, "warn", fmt::format("The model failed the forgetting gate ({}); requests for {} are "
                                                   "refused unless the server runs with --allow-gated",
                                                   gate_failure, job.fine_tuned_model));
    store_.add_event(job.id, "info", fmt::format("The job has succeeded: {} is ready{}", job.fine_tuned_model,
                                                 job.method == "reward" ? " to score with POST /v1/score" : ""));
    finish(JobStatus::Succeeded);
  } catch (const std::exception& e) {
    store_.add_event(job.id, "error", e.what());
    finish(JobStatus::Failed, {{"code", "training_failed"}, {"message", e.what()}, {"param", nullptr}});
  }
}

void JobWorker::serve_result(const Job& job, const std::string& output, const std::string& gate_failure) {
  const int64_t now = std::time(nullptr);
  const LoadedModel& base = *models_.find(job.model)->model;
  if (job.method == "reward") {
    rewards_.add(job.fine_tuned_model, output, base);
  } else if (trains_adapter(job.method)) {
    auto lora = std::make_shared<LlamaLora>(load_lora_adapter(output, base.model.config));
    models_.add_adapter(job.fine_tuned_model, job.model, std::move(lora), now, gate_failure);
  } else {
    models_.add_base(job.fine_tuned_model, load_model(output), gate_failure);
  }
  store_.put_adapter({job.fine_tuned_model, trains_adapter(job.method) ? job.model : "", output, now});
}

}  // namespace whet::serve
