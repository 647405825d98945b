// /v1/runs: the run tracker over HTTP (docs/runs.md): the runs, one run, its
// metrics by seq, a live stream of them as server-sent events, and runs
// compared. The store is kept in step with the folders by the server's
// RunWatcher, about once a second.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <chrono>
#include <memory>

#include "serve/api_error.h"
#include "serve/server_state.h"
#include "track/run_compare.h"

namespace whet::serve {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kDefaultMetricsPage = 1000, kMaxMetricsPage = 10000;
// How long a stream waits for the next sync before it looks again (and notices a gone client).
constexpr auto kStreamWait = std::chrono::milliseconds(1000);
constexpr int64_t kStreamBatch = 500;

int64_t integer_param(std::string_view text, const char* name, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw invalid_request(fmt::format("'{}' must be an integer from {} to {}", name, min, max), name);
  return value;
}

json find_run(ServerState& state, const std::string& id) {
  std::optional<json> run = state.runs.run(id);
  if (!run) throw not_found(fmt::format("No such run: '{}'", id), "run_id", "run_not_found");
  return *run;
}

// Where a stream starts: after the seq in ?after= or in Last-Event-ID (a
// browser reconnecting sends the id of the last event it saw), whichever is later.
int64_t stream_start(const httplib::Request& request) {
  int64_t after = 0;
  if (request.has_param("after"))
    after = integer_param(request.get_param_value("after"), "after", 0, std::numeric_limits<int64_t>::max());
  const std::string last = request.get_header_value("Last-Event-ID");
  if (!last.empty())
    after = std::max(after, integer_param(last, "Last-Event-ID", 0, std::numeric_limits<int64_t>::max()));
  return after;
}

// One run's stream: a `run` event first and whenever its status changes, a
// `metric` event (id: its seq) per new row, a comment when nothing happened for a while.
class RunEvents {
 public:
  RunEvents(ServerState& state, std::string id, int64_t after) : state_(state), id_(std::move(id)), after_(after) {}

  // One turn of httplib's content provider: false ends the response (the client is gone).
  bool next(httplib::DataSink& sink) {
    if (state_.run_watcher.stopping()) {
      sink.done();
      return true;
    }
    const uint64_t generation = state_.run_watcher.generation();
    bool wrote = false;
    if (const std::optional<json> run = state_.runs.run(id_); run && (*run)["status"] != status_) {
      status_ = (*run)["status"];
      if (!send(sink, "event: run\ndata: " + json_text(*run) + "\n\n")) return false;
      wrote = true;
    }
    const std::vector<track::StoredMetric> rows = state_.runs.metrics(id_, after_, kStreamBatch);
    for (const track::StoredMetric& row : rows) {
      if (!send(sink, fmt::format("id: {}\nevent: metric\ndata: {}\n\n", row.seq, json_text(track::metric_json(row)))))
        return false;
      after_ = row.seq;
      wrote = true;
    }
    if (int64_t(rows.size()) == kStreamBatch) return true;  // more are waiting
    if (!wrote && Clock::now() - last_write_ >= state_.options.event_heartbeat && !send(sink, ": heartbeat\n\n")) return false;
    state_.run_watcher.wait_for_change(generation, kStreamWait);
    return sink.is_writable();
  }

 private:
  bool send(httplib::DataSink& sink, const std::string& text) {
    last_write_ = Clock::now();
    return sink.write(text.data(), text.size());
  }

  ServerState& state_;
  std::string id_;
  int64_t after_;
  json status_;
  Clock::time_point last_write_ = Clock::now();
};

}  // namespace

void add_run_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "GET", "/v1/runs", "runs_list", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              send_json(response, {{"object", "list"}, {"data", state.runs.runs()}});
            });
  // Before /v1/runs/{id}, which would take "compare" for an id.
  add_route(server, state, "GET", "/v1/runs/compare", "runs_compare", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              std::vector<json> runs;
              const std::string ids = request.get_param_value("ids");
              for (size_t start = 0, end; start <= ids.size(); start = end + 1) {
                end = std::min(ids.find(',', start), ids.size());
                if (end > start) runs.push_back(find_run(state, ids.substr(start, end - start)));
              }
              if (runs.size() < 2) throw invalid_request("'ids' must name two or more runs, comma-separated", "ids");
              send_json(response, track::compare_runs(runs));
            });
  add_route(server, state, "GET", R"(/v1/runs/([^/]+))", "runs_get", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, find_run(state, request.matches[1]));
            });
  add_route(server, state, "GET", R"(/v1/runs/([^/]+)/metrics)", "runs_metrics", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string id = find_run(state, request.matches[1])["id"];
              const int64_t after = request.has_param("after")
                                        ? integer_param(request.get_param_value("after"), "after", 0,
                                                        std::numeric_limits<int64_t>::max())
                                        : 0;
              const int64_t limit = request.has_param("limit")
                                        ? integer_param(request.get_param_value("limit"), "limit", 1, kMaxMetricsPage)
                                        : kDefaultMetricsPage;
              std::vector<track::StoredMetric> rows = state.runs.metrics(id, after, limit + 1);
              const bool has_more = int64_t(rows.size()) > limit;
              if (has_more) rows.pop_back();
              json data = json::array();
              for (const track::StoredMetric& row : rows) data.push_back(track::metric_json(row));
              send_json(response, {{"object", "list"}, {"data", data}, {"has_more", has_more}});
            });
  add_route(server, state, "GET", R"(/v1/runs/([^/]+)/events)", "runs_events", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string id = find_run(state, request.matches[1])["id"];
              auto events = std::make_shared<RunEvents>(state, id, stream_start(request));
              response.set_header("Cache-Control", "no-cache");
              response.set_chunked_content_provider(
                  "text/event-stream", [events](size_t, httplib::DataSink& sink) { return events->next(sink); });
            });
}

}  // namespace whet::serve
