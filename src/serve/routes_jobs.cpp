// /v1/fine_tuning/jobs: create, list, get, cancel, events and checkpoints, in
// the shapes of OpenAI's fine-tuning API so its clients drive Whet unchanged.
#include <filesystem>

#include "core/error.h"
#include "eval/gate.h"
#include "io/json_fields.h"
#include "serve/api_error.h"
#include "serve/job_request.h"
#include "serve/list_page.h"
#include "serve/server_state.h"

namespace whet::serve {

using nlohmann::json;

namespace {

json time_or_null(int64_t t) { return t ? json(t) : json(nullptr); }

// OpenAI's method.type: a LoRA job is "supervised" there, a GRPO job "reinforcement".
std::string method_type(const Job& job) {
  return job.method == "lora" ? "supervised" : job.method == "grpo" ? "reinforcement" : job.method;
}

json method_json(const Job& job) {
  json inner = {{"hyperparameters", job.hyperparameters}};
  if (!job.grader.is_null()) inner["grader"] = job.grader;
  return {{"type", method_type(job)}, {method_type(job), inner}};
}

Job find_job(ServerState& state, const std::string& id) {
  auto job = state.store.get_job(id);
  if (!job) throw not_found(fmt::format("No such fine-tuning job: '{}'", id), "fine_tuning_job_id", "job_not_found");
  return *job;
}

json event_json(const JobEvent& e) {
  return {{"object", "fine_tuning.job.event"}, {"id", e.id},     {"created_at", e.created_at}, {"level", e.level},
          {"message", e.message},              {"data", e.data}, {"type", e.type}};
}

}  // namespace

json job_json(const Job& job) {
  const bool succeeded = job.status == JobStatus::Succeeded;
  json j = {{"object", "fine_tuning.job"},
          {"id", job.id},
          {"model", job.model},
          {"created_at", job.created_at},
          {"finished_at", time_or_null(job.finished_at)},
          {"fine_tuned_model", succeeded ? json(job.fine_tuned_model) : json(nullptr)},
          {"organization_id", "whet"},
          {"result_files", json::array()},
          {"status", job_status_name(job.status)},
          {"validation_file", job.validation_file.empty() ? json(nullptr) : json(job.validation_file)},
          {"training_file", job.training_file},
          {"hyperparameters", job.hyperparameters},
          {"method", method_json(job)},
          {"trained_tokens", nullptr},
          {"error", job.error.is_null() ? json(nullptr) : job.error},
          {"user_provided_suffix", job.suffix.empty() ? json(nullptr) : json(job.suffix)},
          {"seed", 42},
          {"estimated_finish", nullptr},
          {"integrations", json::array()}};
  // Whet's addition: the forgetting gate's verdict on the finished run.
  const std::string verdict = gate_verdict_path(job.output_dir);
  if (succeeded && std::filesystem::exists(verdict)) j["gate"] = read_json_object(verdict);
  return j;
}

Job queue_job(ServerState& state, Job job) {
  job = state.store.create_job(std::move(job));
  state.store.add_event(job.id, "info", fmt::format("Created fine-tuning job: {}", job.id));
  state.worker.wake();
  return job;
}

void add_job_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "POST", "/v1/fine_tuning/jobs", "jobs_create", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              Job job = parse_job_request(
                  json_body(request, state), [&](const std::string& m) { return state.models.is_base(m); },
                  [&](const std::string& id) { return state.store.get_file(id).has_value(); });
              for (const auto& [param, id] : {std::pair{"training_file", job.training_file}, {"validation_file", job.validation_file}})
                if (const auto file = id.empty() ? std::nullopt : state.store.get_file(id))
                  check_training_file(file->path, file->filename, job.method, param);
              send_json(response, job_json(queue_job(state, std::move(job))));
            });
  add_route(server, state, "GET", "/v1/fine_tuning/jobs", "jobs_list", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const auto [after, limit] = page(request);
              send_json(response, list_page(listed([&] { return state.store.list_jobs(after, limit + 1); }), limit, job_json));
            });
  add_route(server, state, "GET", R"(/v1/fine_tuning/jobs/([^/]+))", "job", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, job_json(find_job(state, request.matches[1].str())));
            });
  add_route(server, state, "POST", R"(/v1/fine_tuning/jobs/([^/]+)/cancel)", "job_cancel", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const Job job = find_job(state, request.matches[1].str());
              if (!state.store.request_cancel(job.id))
                throw invalid_request(fmt::format("the job has already {}", job_status_name(job.status)), "",
                                      "job_not_cancellable");
              state.store.add_event(job.id, "info", "Cancellation requested");
              state.worker.cancel(job.id);
              send_json(response, job_json(find_job(state, job.id)));
            });
  add_route(server, state, "GET", R"(/v1/fine_tuning/jobs/([^/]+)/events)", "job_events", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const Job job = find_job(state, request.matches[1].str());
              const auto [after, limit] = page(request);
              send_json(response, list_page(listed([&] { return state.store.list_events(job.id, after, limit + 1); }), limit, event_json));
            });
  add_route(server, state, "GET", R"(/v1/fine_tuning/jobs/([^/]+)/checkpoints)", "job_checkpoints", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const Job job = find_job(state, request.matches[1].str());
              const auto [after, limit] = page(request);
              const std::string name = JobWorker::fine_tuned_name(job);
              send_json(response, list_page(listed([&] { return state.store.list_checkpoints(job.id, after, limit + 1); }), limit,
                                            [&](const JobCheckpoint& c) {
                                              return json{{"object", "fine_tuning.job.checkpoint"},
                                                          {"id", c.id},
                                                          {"created_at", c.created_at},
                                                          {"fine_tuned_model_checkpoint",
                                                           fmt::format("{}:ckpt-step-{}", name, c.step)},
                                                          {"step_number", c.step},
                                                          {"metrics", c.metrics},
                                                          {"fine_tuning_job_id", job.id}};
                                            }));
            });
}

}  // namespace whet::serve
