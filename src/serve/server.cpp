#include "serve/server.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/folder_lock.h"
#include "core/openmp_team.h"
#include "models/lora_files.h"
#include "serve/api_error.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// A request is handled start to end on one pool thread, so the route wrapper
// can leave its endpoint label where the logger, called after the response, finds it.
thread_local std::string current_endpoint;
thread_local Clock::time_point request_started;
thread_local std::string current_model;  // a served model the request named; "" for others
thread_local bool current_failed = false;

bool authorised(const httplib::Request& request, const ServerOptions& options, Access access) {
  if (options.api_keys.empty() || access == Access::Open) return true;
  if (access == Access::Inference && options.public_inference) return true;
  const std::string header = request.get_header_value("Authorization");
  if (!header.starts_with("Bearer ")) return false;
  const std::string key = header.substr(7);
  for (const auto& k : options.api_keys)
    if (k == key) return true;
  return false;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

class AccessLog {
 public:
  explicit AccessLog(const std::string& where) {
    if (where == "-") return;
    file_ = where.empty() ? stderr : std::fopen(where.c_str(), "a");
    if (!file_) fail(where, "cannot open the access log for appending");
  }
  ~AccessLog() {
    if (file_ && file_ != stderr) std::fclose(file_);
  }
  void write(const json& line) {
    if (!file_) return;
    const std::string text = json_text(line) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), file_);
    std::fflush(file_);
  }

 private:
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
};

void describe_http_metrics(MetricsRegistry& m) {
  m.describe("whet_http_requests_total", MetricType::Counter, "HTTP requests by endpoint, method and status");
  m.describe("whet_http_request_duration_seconds", MetricType::Histogram,
             "Time from a request's arrival to the end of its response (the whole stream for streamed answers)",
             kLatencyBucketsSeconds);
  m.describe("whet_fine_tuning_jobs", MetricType::Gauge, "Fine-tuning jobs by state");
}

std::string default_model_name(const std::string& path) {
  fs::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // "dir/" names "dir"
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

// Adapters given on the command line, and what earlier runs of this data folder trained.
void load_served_models(ModelRegistry& models, RewardModels& rewards, JobStore& store, const ServerOptions& options,
                        const std::string& base_name) {
  for (const std::string& spec : options.adapters) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      fail("--adapter", "'{}' must be NAME=DIR", spec);
    const std::string name = spec.substr(0, eq), dir = spec.substr(eq + 1);
    auto lora = std::make_shared<LlamaLora>(load_lora_adapter(dir, models.find(base_name)->model->model.config));
    lora->config.strength = options.adapter_scale;
    models.add_adapter(name, base_name, std::move(lora), int64_t(std::time(nullptr)), gate_failure_in(dir));
  }
  for (const AdapterRecord& a : store.list_adapters()) {
    if (a.path.empty()) continue;  // made through /v1/adapters, not trained yet
    try {
      if (a.base_model.empty()) {
        models.add_base(a.name, load_model(a.path), gate_failure_in(a.path));
      } else {
        const auto base = models.find(a.base_model);
        if (!base) fail("serve", "its base model '{}' is not served", a.base_model);
        if (RewardModels::holds_reward_model(a.path)) {
          rewards.add(a.name, a.path, *base->model);
          continue;
        }
        models.add_adapter(a.name, a.base_model,
                           std::make_shared<LlamaLora>(load_lora_adapter(a.path, base->model->model.config)),
                           a.created_at, gate_failure_in(a.path));
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "serve: not serving %s from %s: %s\n", a.name.c_str(), a.path.c_str(), e.what());
    }
  }
}

}  // namespace

std::string json_text(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& response, const json& body, int status) {
  response.status = status;
  response.set_content(json_text(body), "application/json");
}

const std::string& json_body(const httplib::Request& request, const ServerState& state) {
  if (request.body.size() > state.options.max_request_bytes)
    throw ApiError(413, "invalid_request_error",
                   fmt::format("the request body of {} bytes exceeds the limit of {} bytes", request.body.size(),
                               state.options.max_request_bytes),
                   "", "request_too_large");
  return request.body;
}

void count_as_model_traffic(const std::string& model) { current_model = model; }
void count_as_failed() { current_failed = true; }

std::string random_id(const std::string& prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}{:08x}", prefix, rng(), uint32_t(rng()));
}

void add_route(httplib::Server& server, ServerState& state, const std::string& method, const std::string& pattern,
               const std::string& endpoint, Access access, Handler handler) {
  auto wrapped = [&state, endpoint, access, handler](const httplib::Request& request, httplib::Response& response) {
    current_endpoint = endpoint;
    try {
      if (!authorised(request, state.options, access))
        throw ApiError(401, "authentication_error",
                       "a valid API key is required: send it as 'Authorization: Bearer <key>'", "", "invalid_api_key");
      handler(request, response);
    } catch (const ApiError& e) {
      send_json(response, error_json(e), e.status);
    } catch (const Error& e) {
      send_json(response, error_json(invalid_request(e.what())), 400);
    } catch (const std::exception& e) {
      send_json(response, error_json(ApiError(500, "server_error", e.what())), 500);
    }
    release_openmp_team();  // what the handler ran (scores, adapters loaded) must not leave a team beside the engines'
  };
  if (method == "GET") server.Get(pattern, wrapped);
  else if (method == "POST") server.Post(pattern, wrapped);
  else if (method == "DELETE") server.Delete(pattern, wrapped);
  else WHET_ASSERT(false);
}

void run_server(const ServerOptions& options, const std::atomic<bool>& stop,
                const std::function<void(int port)>& on_listening) {
  fs::create_directories(options.data_dir + "/files");
  // Two servers on one data folder would both take up its running job: the second is refused.
  const FolderLock lock(options.data_dir, "whet serve");
  MetricsRegistry metrics;
  describe_http_metrics(metrics);
  describe_engine_metrics(metrics);
  JobStore store(options.data_dir + "/whet.sqlite");
  ModelRegistry models(metrics, options.engine);
  const auto format = weight_format_from_name(options.weights);
  if (!format) fail("--weights", "'{}' is not one of native, f32, bf16, auto", options.weights);
  const std::string base_name = options.model_name.empty() ? default_model_name(options.model_path) : options.model_name;
  models.add_base(base_name, load_model(options.model_path, *format));
  RewardModels rewards;
  for (const std::string& spec : options.reward_models) rewards.add(spec, *models.find(base_name)->model);
  load_served_models(models, rewards, store, options, base_name);
  release_openmp_team();  // the weights' conversion's; the main thread lives on
  JobWorker worker(store, models, rewards, fs::absolute(options.data_dir).string());
  TrafficStats traffic(metrics);
  DriftMonitor monitor(options.drift, models, store, options.adapters, metrics, options.engine.threads);
  monitor.start();
  // Runs trained from the command line into DATA/runs and the worker's jobs, indexed as they grow.
  track::RunStore runs(options.data_dir);
  track::RunWatcher run_watcher(runs, std::chrono::milliseconds(1000), [](const std::string& problem) {
    std::fprintf(stderr, "whet serve: %s\n", problem.c_str());
  });
  track::RegistryStore registry(options.data_dir);
  // Declared after the models: it waits for its answers in flight while their engines still run.
  HumanEvalGenerator human_eval(
      store, [&](const std::string& name) { return find_served_model(models, registry, name); });
  ServerState state{options, metrics, store, models, worker, fs::absolute(options.data_dir + "/files").string(),
                    rewards, runs, run_watcher, traffic, monitor, registry, human_eval};
  AccessLog access_log(options.access_log);

  httplib::Server server;
  const int threads = options.http_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  server.set_payload_max_length(std::max(options.max_upload_bytes, options.max_request_bytes));
  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    current_endpoint = "unmatched";
    request_started = Clock::now();
    current_model.clear();
    current_failed = false;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;  // a handler already wrote its error
    if (response.status == 404)
      send_json(response, error_json(not_found(fmt::format("no route for {} {}", request.method, request.path))), 404);
    else if (response.status == 413)
      send_json(response, error_json(ApiError(413, "invalid_request_error", "the request body is too large", "",
                                              "request_too_large")), 413);
    else
      send_json(response, error_json(ApiError(response.status, "invalid_request_error", "bad request")), response.status);
  });
  server.set_logger([&](const httplib::Request& request, const httplib::Response& response) {
    const double seconds = std::chrono::duration<double>(Clock::now() - request_started).count();
    const std::string status = std::to_string(response.status);
    metrics.counter_add("whet_http_requests_total",
                        {{"endpoint", current_endpoint}, {"method", request.method}, {"status", status}});
    metrics.histogram_observe("whet_http_request_duration_seconds", {{"endpoint", current_endpoint}}, seconds);
    if (!current_model.empty()) traffic.record(current_model, seconds, response.status >= 400 || current_failed);
    access_log.write({{"time", utc_now()}, {"remote", request.remote_addr}, {"method", request.method},
                      {"path", request.path}, {"endpoint", current_endpoint}, {"status", response.status},
                      {"duration_ms", std::round(seconds * 1e4) / 10}, {"request_bytes", request.body.size()}});
  });

  add_route(server, state, "GET", "/health", "health", Access::Open,
            [](const httplib::Request&, httplib::Response& response) { send_json(response, {{"status", "ok"}}); });
  add_route(server, state, "GET", "/metrics", "metrics", Access::Open,
            [&](const httplib::Request&, httplib::Response& response) {
              for (const auto& [status, count] : store.job_counts())
                metrics.gauge_set("whet_fine_tuning_jobs", {{"state", std::string(job_status_name(status))}},
                                  double(count));
              set_monitoring_gauges(state);
              response.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
            });
  add_inference_routes(server, state);
  add_file_routes(server, state);
  add_job_routes(server, state);
  add_adapter_routes(server, state);
  add_feedback_routes(server, state);
  add_score_routes(server, state);
  add_run_routes(server, state);
  add_monitoring_routes(server, state);
  add_registry_routes(server, state);
  add_loop_routes(server, state);
  add_human_eval_routes(server, state);
  add_data_routes(server, state);
  add_dashboard_routes(server, state);

  const int port = options.port == 0 ? server.bind_to_any_port(options.host) : server.bind_to_port(options.host, options.port)
                                                                                   ? options.port
                                                                                   : -1;
  if (port < 0) fail("serve", "cannot listen on {}:{} (in use, or not an address of this machine)", options.host, options.port);
  std::thread listener([&] { server.listen_after_bind(); });
  if (on_listening) on_listening(port);
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  run_watcher.stop();  // ends the open /v1/runs/{id}/events streams, which would hold server.stop() up
  server.stop();
  listener.join();
}

}  // namespace whet::serve
