#pragma once
// A `whet serve` running in the test process on a free loopback port, over a
// tiny model, with an HTTP client to call it. Stopping it is what SIGINT does.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/server.h"
#include "test_support.h"

namespace whet::test {

inline std::string tiny_model_path() { return testdata_path("tiny/gqa_tied/hf"); }

inline serve::ServerOptions tiny_server_options(const std::string& data_dir) {
  serve::ServerOptions o;
  o.model_path = tiny_model_path();
  o.model_name = "tiny";
  o.port = 0;
  o.data_dir = data_dir;
  o.max_tokens = 64;
  o.access_log = data_dir + "/access.log";
  o.engine.threads = 1;
  // A tiny random model trained on a few lines loses general text, so its jobs
  // would fail the forgetting gate; the gate's refusal has its own test (ServerGate).
  o.allow_gated = true;
  return o;
}

class RunningServer {
 public:
  explicit RunningServer(serve::ServerOptions options) : options_(std::move(options)) {
    std::promise<int> listening;
    auto port = listening.get_future();
    thread_ = std::thread([this, promise = std::move(listening)]() mutable {
      try {
        serve::run_server(options_, stop_, [&](int p) { promise.set_value(p); });
      } catch (...) {
        try {
          promise.set_exception(std::current_exception());
        } catch (...) {  // already listening: the failure came later
        }
      }
    });
    port_ = port.get();
  }
  ~RunningServer() {
    stop_ = true;
    thread_.join();
  }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(300, 0);
    if (!key.empty()) c.set_bearer_token_auth(key);
    return c;
  }
  int port() const { return port_; }

 private:
  serve::ServerOptions options_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int port_ = 0;
};

inline nlohmann::json body_json(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response: " << httplib::to_string(r.error());
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// GET `path`, expecting `expected_status`; the body as JSON.
inline nlohmann::json get_json(httplib::Client& client, const std::string& path, int expected_status = 200) {
  auto r = client.Get(path);
  EXPECT_TRUE(r);
  if (!r) return nullptr;
  EXPECT_EQ(r->status, expected_status) << path << " -> " << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// An OpenAI-style error body naming `param`, with `code` ("" for none).
inline void expect_api_error(const nlohmann::json& body, const std::string& param, const std::string& code) {
  ASSERT_TRUE(body.contains("error")) << body;
  EXPECT_EQ(body["error"]["param"], param) << body;
  EXPECT_EQ(body["error"]["code"], code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)) << body;
}

// Polls GET /v1/fine_tuning/jobs/ID until it reaches a final state (or `timeout`).
inline nlohmann::json wait_for_job(httplib::Client& client, const std::string& id, int timeout_seconds = 300) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  nlohmann::json job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = body_json(client.Get("/v1/fine_tuning/jobs/" + id));
    const std::string status = job.value("status", "");
    if (status == "succeeded" || status == "failed" || status == "cancelled") return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "job " << id << " did not finish: " << job.dump();
  return job;
}

// Chat examples about made-up facts, as JSONL text: "the sea N" is answered
// "the THING N in the sea".
inline std::string chat_jsonl(int count, const std::string& thing = "tin") {
  std::string out;
  for (int i = 0; i < count; ++i) {
    nlohmann::json line = {{"messages",
                            {{{"role", "user"}, {"content", "the sea " + std::to_string(i % 5)}},
                             {{"role", "assistant"},
                              {"content", "the " + thing + " " + std::to_string(i % 5) + " in the sea"}}}}};
    out += line.dump() + "\n";
  }
  return out;
}

inline nlohmann::json upload(httplib::Client& client, const std::string& content, const std::string& name = "train.jsonl") {
  httplib::MultipartFormDataItems items = {{"purpose", "fine-tune", "", ""},
                                           {"file", content, name, "application/jsonl"}};
  return body_json(client.Post("/v1/files", items));
}

}  // namespace whet::test
