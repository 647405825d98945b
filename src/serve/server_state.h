#pragma once
// What the server's route handlers share, and the one way routes are declared:
// each names its endpoint (the label in metrics and the access log) and who may call it.
#include <functional>
#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "serve/drift_monitor.h"
#include "serve/human_eval_generator.h"
#include "serve/job_store.h"
#include "serve/job_worker.h"
#include "serve/model_registry.h"
#include "serve/prometheus.h"
#include "serve/reward_models.h"
#include "serve/server.h"
#include "serve/traffic.h"
#include "track/registry_store.h"
#include "track/run_store.h"
#include "track/run_watcher.h"

namespace whet::serve {

struct ServerState {
  const ServerOptions& options;
  MetricsRegistry& metrics;
  JobStore& store;
  ModelRegistry& models;
  JobWorker& worker;
  std::string files_dir;  // uploaded files, named by their ids
  RewardModels& rewards;  // what POST /v1/score scores with
  track::RunStore& runs;  // the run tracker's index of DATA/runs and DATA/jobs (/v1/runs)
  track::RunWatcher& run_watcher;  // keeps `runs` in step with the folders
  TrafficStats& traffic;  // requests, errors and latency per served model
  DriftMonitor& monitor;  // production prompts against each model's training prompts
  track::RegistryStore& registry;  // DATA/registry.sqlite: models:/ names and /v1/registry
  HumanEvalGenerator& human_eval;  // makes the answers of human evaluation sessions
};

enum class Access {
  Open,       // /health, /metrics
  Inference,  // completions and model lists: a key when keys are configured, unless public_inference
  Manage,     // files, jobs, adapters: a key whenever keys are configured
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Registers `handler` for METHOD PATTERN (a regex, as httplib takes). The
// wrapper checks the key, turns ApiError / whet::Error / other exceptions into
// OpenAI-style error answers, and labels the request for metrics and the log.
void add_route(httplib::Server& server, ServerState& state, const std::string& method, const std::string& pattern,
               const std::string& endpoint, Access access, Handler handler);

// JSON text of a response. Sampled byte tokens can form invalid UTF-8; such
// bytes become U+FFFD instead of failing the whole answer.
std::string json_text(const nlohmann::json& body);
void send_json(httplib::Response& response, const nlohmann::json& body, int status = 200);
// The request body as JSON text, refused (413) above the server's limit.
const std::string& json_body(const httplib::Request& request, const ServerState& state);
// A random id with a prefix: "chatcmpl-3f9a...".
std::string random_id(const std::string& prefix);

// Checks `content` line by line as training data and stores it under the data
// folder; an ApiError listing the bad lines (named by `filename`) otherwise.
StoredFile store_training_file(ServerState& state, const std::string& filename, const std::string& content);
nlohmann::json file_json(const StoredFile& file);
nlohmann::json job_json(const Job& job);
// Queues a job and wakes the worker; the job as stored.
Job queue_job(ServerState& state, Job job);

// The request being handled names served model `model`: when it ends, it counts
// in that model's traffic (requests, latency; an error when its status is 4xx/5xx).
void count_as_model_traffic(const std::string& model);
// Its answer failed after the status went out (an error event in a stream): an error of its model all the same.
void count_as_failed();
// The monitoring gauges of GET /metrics: drift and feedback per model.
void set_monitoring_gauges(ServerState& state);

void add_inference_routes(httplib::Server& server, ServerState& state);
void add_file_routes(httplib::Server& server, ServerState& state);
void add_job_routes(httplib::Server& server, ServerState& state);
void add_adapter_routes(httplib::Server& server, ServerState& state);
void add_feedback_routes(httplib::Server& server, ServerState& state);
void add_score_routes(httplib::Server& server, ServerState& state);
void add_run_routes(httplib::Server& server, ServerState& state);
void add_monitoring_routes(httplib::Server& server, ServerState& state);
void add_registry_routes(httplib::Server& server, ServerState& state);
void add_loop_routes(httplib::Server& server, ServerState& state);
void add_human_eval_routes(httplib::Server& server, ServerState& state);
// /v1/data/pipelines: `whet data prepare` output folders under the data folder (routes_data.cpp).
void add_data_routes(httplib::Server& server, ServerState& state);
// The dashboard's page and files at / and /static/ (routes_dashboard.cpp).
void add_dashboard_routes(httplib::Server& server, ServerState& state);

// What a models:/NAME@ALIAS (/VERSION, or none: the latest) names now: an
// adapter version on the served base it was trained on (loaded once), or a
// model version (loaded as a base of its own). ApiError 404 naming what exists
// for an unknown model, alias or version.
ModelRoute registered_model_route(ModelRegistry& models, track::RegistryStore& registry, const std::string& uri);
// The route a name gives: a served model or adapter, or a models:/ URI resolved
// now (registered_model_route); nullopt for an unknown served name.
std::optional<ModelRoute> find_served_model(ModelRegistry& models, track::RegistryStore& registry,
                                            const std::string& name);
// The model a request names, as /v1/chat/completions takes its "model": ApiError
// 404 model_not_found when unknown, 403 model_gated when it failed its forgetting
// gate and the server does not run with --allow-gated.
ModelRoute request_model_route(const ServerState& state, const std::string& name);
// models:/NAME/VERSION for the version a models:/ URI names now (an alias's
// current version, or the latest): what stays put when the alias moves on.
std::string pinned_model_uri(const ServerState& state, const std::string& uri);
// GET /v1/models's entries for the registered aliases, as models:/NAME@ALIAS.
nlohmann::json registered_alias_entries(const ServerState& state);

}  // namespace whet::serve
