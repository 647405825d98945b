// Monitoring over HTTP on the tiny model: traffic per model, and drift of the
// prompts a server receives from the training prompts of what it serves. The
// base gets its reference from --drift-reference; prompts like the training
// ones raise no alert, prompts in another script and far longer ones do, with
// reasons, in GET /v1/monitoring and in the gauges of GET /metrics. An adapter
// trained by a job finds its reference in its run folder; a model without one
// reports drift as null, not zero.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <thread>

#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

// Short English requests about the sea, the kind the reference trains on.
std::string in_distribution(std::mt19937& rng) {
  static const char* const kWords[] = {"the", "sea", "is", "calm", "blue", "wave", "boat", "near", "shore", "today",
                                       "wind", "tide", "fish", "sand", "sun"};
  std::string text;
  const int words = 4 + int(rng() % 4);
  for (int i = 0; i < words; ++i) text += std::string(i ? " " : "") + kWords[rng() % std::size(kWords)];
  return text;
}

// Requests unlike them: Cyrillic and Greek text, and much longer prompts.
std::string out_of_distribution(std::mt19937& rng, int i) {
  static const char* const kForeign[] = {"море", "спокойно", "ветер", "лодка", "θάλασσα", "άνεμος", "βάρκα", "ήλιος"};
  // Every other one of about 100 bytes (a token each), near the tiny model's context of 128 tokens.
  const size_t bytes = i % 2 ? 100 : 30;
  std::string text;
  for (;;) {
    const std::string word = std::string(text.empty() ? "" : " ") + kForeign[rng() % std::size(kForeign)];
    if (text.size() + word.size() > bytes) return text;
    text += word;
  }
}

std::string chat_line(const std::string& prompt) {
  return json{{"messages", {{{"role", "user"}, {"content", prompt}}, {{"role", "assistant"}, {"content", "yes"}}}}}
             .dump() +
         "\n";
}

json chat(httplib::Client& client, const std::string& model, const std::string& prompt, int expected_status = 200) {
  const json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", prompt}}}}, {"max_tokens", 1},
                     {"temperature", 0}};
  auto r = client.Post("/v1/chat/completions", body.dump(), "application/json");
  EXPECT_TRUE(r);
  if (!r) return nullptr;
  EXPECT_EQ(r->status, expected_status) << prompt << " -> " << r->body;
  return json::parse(r->body, nullptr, false);
}

json model_entry(httplib::Client& client, const std::string& model) {
  const json monitoring = test::body_json(client.Get("/v1/monitoring"));
  EXPECT_EQ(monitoring["object"], "monitoring") << monitoring.dump();
  for (const json& m : monitoring["models"])
    if (m["model"] == model) return m;
  ADD_FAILURE() << "no " << model << " in " << monitoring.dump();
  return nullptr;
}

// What `get` returns once `done` holds of it, or after 30 s: the background
// scorer works on its own time, and a request is counted after its client has the answer.
template <typename Get, typename Done>
auto poll(Get get, Done done) {
  auto value = get();
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       !done(value) && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    value = get();
  }
  return value;
}

bool has_reason(const json& drift, const std::string& prefix) {
  for (const json& r : drift["reasons"])
    if (r.get<std::string>().starts_with(prefix)) return true;
  return false;
}

std::string metrics_text(httplib::Client& client) { return client.Get("/metrics")->body; }
// The metrics once they hold `line`.
std::string metrics_with(httplib::Client& client, const std::string& line) {
  return poll([&] { return metrics_text(client); },
              [&](const std::string& text) { return text.find("\n" + line + "\n") != std::string::npos; });
}

double gauge(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return NAN;
  return std::stod(metrics.substr(at + series.size() + 2));
}

TEST(ServerMonitoring, DriftFromTheReferenceRaisesAnAlertWithReasons) {
  const std::string data = test::scratch_dir("serve_monitoring_drift");
  std::mt19937 rng(7);
  {
    std::ofstream reference(data + "/reference.jsonl");
    for (int i = 0; i < 200; ++i) reference << chat_line(in_distribution(rng));
  }
  auto options = test::tiny_server_options(data);
  options.drift.references = {"tiny=" + data + "/reference.jsonl"};
  options.drift.window = 40;
  options.drift.min_window = 30;
  options.drift.sample_rate = 1;
  options.drift.reference_sample = 30;
  test::RunningServer server(options);
  auto client = server.client();

  // Before any prompt: a reference, an empty window, nothing judged.
  json entry = model_entry(client, "tiny");
  ASSERT_TRUE(entry["drift"].is_object()) << entry.dump();
  EXPECT_EQ(entry["drift"]["reference_prompts"], 200);
  EXPECT_EQ(entry["drift"]["window"], 0);
  EXPECT_TRUE(entry["drift"]["psi_prompt_length"].is_null());
  EXPECT_FALSE(entry["drift"]["alert"]);

  for (int i = 0; i < 40; ++i) chat(client, "tiny", in_distribution(rng));
  entry = poll([&] { return model_entry(client, "tiny"); },
               [](const json& e) { return e["requests"] == 40 && e["drift"]["scored"].get<int>() >= 20; });
  json drift = entry["drift"];
  EXPECT_EQ(drift["window"], 40);
  EXPECT_TRUE(drift["judged"]);
  EXPECT_LT(drift["psi_prompt_length"].get<double>(), 0.2) << drift.dump();
  EXPECT_LT(drift["js_tokens"].get<double>(), 0.1) << drift.dump();
  EXPECT_FALSE(drift["alert"]) << drift.dump();
  EXPECT_TRUE(drift["reasons"].empty()) << drift.dump();
  ASSERT_TRUE(drift["perplexity_threshold"].is_number()) << drift.dump();
  ASSERT_TRUE(drift["surprising_share"].is_number()) << drift.dump();
  EXPECT_GE(drift["surprising_share"].get<double>(), 0.0);
  EXPECT_LE(drift["surprising_share"].get<double>(), 1.0);
  // Traffic: 40 answered requests of one generated token each.
  EXPECT_EQ(entry["requests"], 40);
  EXPECT_EQ(entry["errors"], 0);
  EXPECT_EQ(entry["completion_tokens"], 40);
  EXPECT_GT(entry["prompt_tokens"].get<int>(), 40 * 20);
  EXPECT_GT(entry["latency_p95"].get<double>(), 0.0);
  EXPECT_GE(entry["latency_p95"].get<double>(), entry["latency_p50"].get<double>());
  std::string metrics = metrics_with(client, "whet_drift_alert{model=\"tiny\"} 0");
  EXPECT_EQ(gauge(metrics, "whet_drift_alert{model=\"tiny\"}"), 0) << metrics;
  EXPECT_NEAR(gauge(metrics, "whet_drift_psi{feature=\"prompt_length\",model=\"tiny\"}"),
              drift["psi_prompt_length"].get<double>(), 1e-9);

  // The window fills with other prompts: their lengths and tokens are not the training prompts'.
  for (int i = 0; i < 40; ++i) chat(client, "tiny", out_of_distribution(rng, i));
  entry = model_entry(client, "tiny");
  drift = entry["drift"];
  EXPECT_EQ(drift["window"], 40);
  EXPECT_GT(drift["psi_prompt_length"].get<double>(), 0.2) << drift.dump();
  EXPECT_GT(drift["js_tokens"].get<double>(), 0.1) << drift.dump();
  EXPECT_TRUE(drift["alert"]) << drift.dump();
  EXPECT_TRUE(has_reason(drift, "psi_prompt_length ")) << drift.dump();
  EXPECT_TRUE(has_reason(drift, "js_tokens ")) << drift.dump();
  metrics = metrics_with(client, "whet_model_requests_total{model=\"tiny\"} 80");
  EXPECT_EQ(gauge(metrics, "whet_drift_alert{model=\"tiny\"}"), 1) << metrics;
  EXPECT_GT(gauge(metrics, "whet_drift_psi{feature=\"prompt_length\",model=\"tiny\"}"), 0.2) << metrics;
  EXPECT_GT(gauge(metrics, "whet_drift_js{model=\"tiny\"}"), 0.1) << metrics;
  EXPECT_NE(metrics.find("\nwhet_model_requests_total{model=\"tiny\"} 80\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nwhet_model_request_duration_seconds_count{model=\"tiny\"} 80\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nwhet_time_to_first_token_seconds_count{model=\"tiny\"} 80\n"), std::string::npos);

  // An error of the model: a prompt beyond its context is refused, and counted.
  chat(client, "tiny", std::string(400, 'a'), 400);
  EXPECT_EQ(poll([&] { return model_entry(client, "tiny"); }, [](const json& e) { return e["errors"] == 1; })["errors"], 1);
  metrics = metrics_with(client, "whet_model_errors_total{model=\"tiny\"} 1");
  EXPECT_NE(metrics.find("\nwhet_model_errors_total{model=\"tiny\"} 1\n"), std::string::npos) << metrics;
}

TEST(ServerMonitoring, AJobsAdapterIsComparedWithItsTrainingDataAndFeedbackIsRated) {
  const std::string data = test::scratch_dir("serve_monitoring_adapter");
  auto options = test::tiny_server_options(data);
  options.drift.window = 20;
  options.drift.min_window = 10;
  options.drift.sample_rate = 0;
  test::RunningServer server(options);
  auto client = server.client();
  std::mt19937 rng(11);
  std::string training;
  for (int i = 0; i < 12; ++i) training += chat_line(in_distribution(rng));
  const std::string file = test::upload(client, training)["id"];
  const json created = json::parse(
      client.Post("/v1/fine_tuning/jobs",
                  json{{"model", "tiny"}, {"training_file", file}, {"hyperparameters", {{"n_epochs", 1}}}}.dump(),
                  "application/json")
          ->body);
  const json job = test::wait_for_job(client, created["id"]);
  ASSERT_EQ(job["status"], "succeeded") << job.dump();
  const std::string adapter = job["fine_tuned_model"];

  // The base has no reference: drift is null, with the reason; the adapter's run folder names the uploaded file.
  const json base = model_entry(client, "tiny");
  EXPECT_TRUE(base["drift"].is_null()) << base.dump();
  EXPECT_TRUE(base["drift_unavailable"].get<std::string>().starts_with("no reference")) << base.dump();
  EXPECT_EQ(base["base"], "tiny");
  // Found within a second of the job's end (the monitor looks for new models twice a second).
  json entry = poll([&] { return model_entry(client, adapter); }, [](const json& e) { return e["drift"].is_object(); });
  ASSERT_TRUE(entry["drift"].is_object()) << entry.dump();
  EXPECT_EQ(entry["base"], "tiny");
  EXPECT_EQ(entry["drift"]["reference_prompts"], 12);
  EXPECT_NE(entry["drift"]["reference"].get<std::string>().find(data + "/jobs/" + job["id"].get<std::string>() +
                                                                "/config.yaml"),
            std::string::npos)
      << entry.dump();
  EXPECT_TRUE(entry["drift"]["surprising_share"].is_null()) << "nothing sampled at --drift-sample-rate 0";

  // Feedback per kept completion, and the thumbs-down share of the ratings.
  EXPECT_TRUE(entry["feedback"]["rate"].is_null()) << entry.dump();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(chat(client, adapter, in_distribution(rng))["id"]);
  for (const auto& [id, rating] : {std::pair{ids[0], "down"}, {ids[1], "down"}, {ids[2], "up"}}) {
    auto r = client.Post("/v1/feedback", json{{"completion_id", id}, {"rating", rating}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
  }
  entry = model_entry(client, adapter);
  EXPECT_DOUBLE_EQ(entry["feedback"]["rate"].get<double>(), 0.75) << entry.dump();
  EXPECT_DOUBLE_EQ(entry["feedback"]["down_share"].get<double>(), 2.0 / 3) << entry.dump();
  EXPECT_EQ(entry["drift"]["window"], 4);
  EXPECT_FALSE(entry["drift"]["judged"]);
  const std::string metrics = metrics_text(client);
  EXPECT_DOUBLE_EQ(gauge(metrics, "whet_feedback_rate{model=\"" + adapter + "\"}"), 0.75) << metrics;
  EXPECT_EQ(metrics.find("whet_drift_js{model=\"tiny\"}"), std::string::npos) << "no drift gauge without a reference";
}

TEST(ServerMonitoring, ABadReferenceStopsTheServerNamingTheLine) {
  const std::string data = test::scratch_dir("serve_monitoring_bad_reference");
  {
    std::ofstream reference(data + "/reference.jsonl");
    reference << chat_line("fine") << "{\"messages\": 3}\n";
  }
  auto options = test::tiny_server_options(data);
  options.drift.references = {"tiny=" + data + "/reference.jsonl"};
  // Refused before listening: run_server throws instead of calling back with its port.
  const std::atomic<bool> stop{true};
  test::expect_error([&] { serve::run_server(options, stop, [](int) { ADD_FAILURE() << "listening"; }); },
                     {"reference.jsonl:2"});
}

}  // namespace
}  // namespace whet
