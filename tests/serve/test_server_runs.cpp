// /v1/runs over HTTP: the runs under the data folder listed in OpenAI's list
// shape, one run, its metrics by seq, runs compared, and the server-sent events
// of a run that trains from the command line while a client watches: metric
// events as the run grows, and a reconnect with Last-Event-ID that continues
// where the client stopped, without a gap or a repeat.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "server_fixture.h"
#include "track/run_folder.h"
#include "track/run_folders.h"

namespace whet {
namespace {

using nlohmann::json;
using test::body_json;

struct SseEvent {
  std::string id, event, data;
};

// Reads server-sent events from `path` until `enough` says so; returns them.
std::vector<SseEvent> read_events(httplib::Client& client, const std::string& path, const httplib::Headers& headers,
                                  const std::function<bool(const std::vector<SseEvent>&)>& enough) {
  std::vector<SseEvent> events;
  std::string buffer;
  client.Get(path, headers, [&](const char* data, size_t size) {
    buffer.append(data, size);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos; buffer.erase(0, end + 2)) {
      SseEvent event;
      std::istringstream block(buffer.substr(0, end));
      for (std::string line; std::getline(block, line);) {
        if (line.starts_with("id: ")) event.id = line.substr(4);
        if (line.starts_with("event: ")) event.event = line.substr(7);
        if (line.starts_with("data: ")) event.data = line.substr(6);
      }
      if (!event.event.empty()) events.push_back(event);
    }
    return !enough(events);
  });
  return events;
}

int metric_count(const std::vector<SseEvent>& events) {
  return int(std::count_if(events.begin(), events.end(), [](const SseEvent& e) { return e.event == "metric"; }));
}

TEST(ServerRuns, ListsShowsPagesAndComparesRuns) {
  const std::string data = test::this_test_scratch("server_runs_");
  const std::string a = test::hand_run(data + "/runs/a", "method: lora\nlora_r: 8\n");
  const std::string b = test::hand_run(data + "/runs/b", "method: lora\nlora_r: 4\n");
  for (int step = 1; step <= 5; ++step) test::append(a + "/metrics.jsonl", test::step_line(step, 2.0 / step));
  test::RunningServer server(test::tiny_server_options(data));
  httplib::Client client = server.client();
  json list;
  for (int i = 0; i < 50 && body_json(client.Get("/v1/runs")).value("data", json::array()).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  list = body_json(client.Get("/v1/runs"));
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  const std::string id_a = track::path_run_id(a), id_b = track::path_run_id(b);

  const json run = body_json(client.Get("/v1/runs/" + id_a));
  EXPECT_EQ(run["object"], "run");
  EXPECT_EQ(run["params"]["lora_r"], 8);
  EXPECT_EQ(run["steps"], 5);
  for (const char* key : {"id", "name", "dir", "source", "status", "method", "model", "data", "created_at", "updated_at",
                          "params", "best", "last", "steps", "lineage", "artefacts", "gate", "bad_lines"})
    EXPECT_TRUE(run.contains(key)) << key;

  const json page = body_json(client.Get("/v1/runs/" + id_a + "/metrics?limit=3"));
  ASSERT_EQ(page["data"].size(), 3u);
  EXPECT_TRUE(page["has_more"].get<bool>());
  const int64_t third = page["data"][2]["seq"];
  const json rest = body_json(client.Get("/v1/runs/" + id_a + "/metrics?after=" + std::to_string(third)));
  EXPECT_EQ(rest["data"].size(), 5u * 4 - 3);
  EXPECT_FALSE(rest["has_more"].get<bool>());
  EXPECT_GT(rest["data"][0]["seq"].get<int64_t>(), third);

  const json comparison = body_json(client.Get("/v1/runs/compare?ids=" + id_a + "," + id_b));
  EXPECT_EQ(comparison["differing_params"]["lora_r"], json({{id_a, 8}, {id_b, 4}}));
  EXPECT_EQ(client.Get("/v1/runs/compare?ids=" + id_a)->status, 400);
  const auto unknown = client.Get("/v1/runs/run-000000000000");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("No such run"), std::string::npos);
  EXPECT_EQ(client.Get("/v1/runs/" + id_a + "/metrics?limit=0")->status, 400);
}

TEST(ServerRuns, StreamsTheMetricsOfARunAsItTrainsAndResumesWithLastEventId) {
  const std::string data = test::this_test_scratch("server_runs_");
  test::RunningServer server(test::tiny_server_options(data));
  httplib::Client client = server.client();
  client.set_read_timeout(60, 0);  // a stream that never delivers fails the test instead of hanging it

  TrainConfig config = test::tiny_run_config(data, data + "/runs/live");
  config.max_steps = 16;
  std::atomic<bool> trained{false};
  std::thread training([&] {
    TrainRunOptions options;
    // A pace a person can watch: the server syncs about once a second.
    options.on_report = [](const StepReport&) { std::this_thread::sleep_for(std::chrono::milliseconds(200)); };
    run_training(config, options);
    trained = true;
  });
  std::string id;
  for (int i = 0; i < 300 && id.empty(); ++i) {
    for (const json& run : body_json(client.Get("/v1/runs")).value("data", json::array()))
      if (run["name"] == "live" && !run["lineage"]["config_hash"].is_null()) id = run["id"];  // run.json is read
    if (id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(id.empty());

  int live = 0;  // metric events that arrived before the run ended
  const std::vector<SseEvent> first =
      read_events(client, "/v1/runs/" + id + "/events", {}, [&](const std::vector<SseEvent>& events) {
        if (!events.empty() && events.back().event == "metric" && !trained) ++live;
        return metric_count(events) >= 8;
      });
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].event, "run");
  EXPECT_EQ(json::parse(first[0].data)["status"], "running");
  EXPECT_GT(live, 0);
  const std::string last_id = std::find_if(first.rbegin(), first.rend(), [](const SseEvent& e) { return e.event == "metric"; })->id;

  training.join();
  for (int i = 0; i < 100 && body_json(client.Get("/v1/runs/" + id))["status"] != "finished"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last lines and the status synced
  const json all = body_json(client.Get("/v1/runs/" + id + "/metrics?limit=10000"));
  std::set<int64_t> expected;
  for (const json& row : all["data"]) expected.insert(row["seq"].get<int64_t>());

  std::set<int64_t> seen;
  for (const SseEvent& e : first)
    if (e.event == "metric") seen.insert(std::stoll(e.id));
  const std::vector<SseEvent> second = read_events(
      client, "/v1/runs/" + id + "/events", {{"Last-Event-ID", last_id}},
      [&](const std::vector<SseEvent>& events) { return int(seen.size()) + metric_count(events) >= int(expected.size()); });
  EXPECT_EQ(json::parse(second[0].data)["status"], "finished");
  for (const SseEvent& e : second) {
    if (e.event != "metric") continue;
    EXPECT_GT(std::stoll(e.id), std::stoll(last_id));
    EXPECT_TRUE(seen.insert(std::stoll(e.id)).second) << "seq " << e.id << " sent twice";
    EXPECT_EQ(json::parse(e.data)["seq"], std::stoll(e.id));
  }
  EXPECT_EQ(seen, expected);
}

// A fine-tuning job is a run too: its folder under DATA/jobs, source "job".
TEST(ServerRuns, AFineTuningJobIsARunFromAJob) {
  const std::string data = test::this_test_scratch("server_runs_");
  test::RunningServer server(test::tiny_server_options(data));
  httplib::Client client = server.client();
  const std::string train = test::upload(client, test::chat_jsonl(8))["id"];
  const json created = body_json(client.Post("/v1/fine_tuning/jobs",
                                             json({{"model", "tiny"}, {"training_file", train},
                                                   {"hyperparameters", {{"n_epochs", 1}, {"sequence_len", 32}}}}).dump(),
                                             "application/json"));
  const std::string job = created["id"];
  EXPECT_EQ(test::wait_for_job(client, job)["status"], "succeeded");
  json run;
  for (int i = 0; i < 50 && (run.is_null() || run["status"] != "finished"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const json& r : body_json(client.Get("/v1/runs")).value("data", json::array()))
      if (r["name"] == job) run = r;
  }
  ASSERT_FALSE(run.is_null());
  EXPECT_EQ(run["source"], "job");
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["method"], "lora");
  EXPECT_GT(run["steps"].get<int64_t>(), 0);
  EXPECT_TRUE(run["lineage"]["model_hash"].is_string());
}

}  // namespace
}  // namespace whet

namespace whet {
namespace {

// A quiet stream gets a comment line every ServerOptions::event_heartbeat, so
// proxies and browsers keep it open; the default (15 s) is shortened here.
TEST(ServerRuns, AQuietEventStreamGetsAHeartbeat) {
  const std::string data = test::this_test_scratch("server_runs_");
  const std::string dir = test::hand_run(data + "/runs/quiet", "method: lora\n");
  test::append(dir + "/metrics.jsonl", test::step_line(1, 1.0));
  serve::ServerOptions options = test::tiny_server_options(data);
  options.event_heartbeat = std::chrono::milliseconds(300);
  test::RunningServer server(options);
  httplib::Client client = server.client();
  client.set_read_timeout(10, 0);  // well short of the default heartbeat: only the option can pass
  const std::string id = track::path_run_id(dir);
  for (int i = 0; i < 50 && client.Get("/v1/runs/" + id)->status != 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::string stream;
  int heartbeats = 0;
  const auto started = std::chrono::steady_clock::now();
  client.Get("/v1/runs/" + id + "/events", [&](const char* bytes, size_t size) {
    stream.append(bytes, size);
    heartbeats = 0;
    for (size_t at = 0; (at = stream.find(": heartbeat\n\n", at)) != std::string::npos; at += 1) ++heartbeats;
    return heartbeats < 2;
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(heartbeats, 2) << stream;
  EXPECT_LT(seconds, 5.0) << "two heartbeats 0.3 s apart, each after at most a 1 s wait";
  EXPECT_NE(stream.find("event: metric"), std::string::npos) << "the run's rows came first: " << stream;
}

}  // namespace
}  // namespace whet
