// The OpenAI-compatible inference API end to end over HTTP on a tiny model:
// answers equal what `whet generate` computes, streams join to the same text,
// requests in flight together answer as they would alone, errors take OpenAI's
// shape and status, keys guard what they should, and /metrics counts it all.
#include <gtest/gtest.h>

#include <thread>

#include "eval/gate.h"
#include "generate/generator.h"
#include "generate/prompt.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "serve/inference_engine.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

// What `whet generate` answers, as the server sends it: the tiny model's random
// byte tokens form invalid UTF-8, which JSON carries as U+FFFD.
std::string greedy_answer(const LoadedModel& model, const std::string& question, int max_tokens) {
  Session session(model.model, 512);
  GenerationOptions options;
  options.sampling.temperature = 0;
  options.max_tokens = max_tokens;
  const std::string text = generate(model, session, chat_prompt_tokens(model, {{"user", question}}), options).text;
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

json chat_body(const std::string& question, int max_tokens, bool stream = false) {
  return {{"model", "tiny"},
          {"messages", {{{"role", "user"}, {"content", question}}}},
          {"temperature", 0},
          {"max_tokens", max_tokens},
          {"stream", stream}};
}

// The text of a server-sent event stream's chat deltas, and whether it ended with [DONE];
// `pieces` counts the deltas that carried text.
std::pair<std::string, bool> join_stream(const std::string& body, json* usage = nullptr, int* pieces = nullptr) {
  std::string text;
  bool done = false;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    const std::string data = body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    const json chunk = json::parse(data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk.contains("usage") && usage) *usage = chunk["usage"];
    for (const json& c : chunk["choices"])
      if (c["delta"].contains("content") && !c["delta"]["content"].get<std::string>().empty()) {
        text += c["delta"]["content"].get<std::string>();
        if (pieces) ++*pieces;
      }
  }
  return {text, done};
}

class ServerInference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new LoadedModel(load_model(test::tiny_model_path()));
    server_ = new test::RunningServer(test::tiny_server_options(test::scratch_dir("serve_inference")));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete model_;
  }
  static LoadedModel* model_;
  static test::RunningServer* server_;
};
LoadedModel* ServerInference::model_ = nullptr;
test::RunningServer* ServerInference::server_ = nullptr;

TEST_F(ServerInference, ChatAnswerEqualsGenerate) {
  auto client = server_->client();
  const json r = test::body_json(client.Post("/v1/chat/completions", chat_body("the sea 3", 12).dump(), "application/json"));
  ASSERT_EQ(r["object"], "chat.completion") << r.dump();
  EXPECT_EQ(r["model"], "tiny");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], greedy_answer(*model_, "the sea 3", 12));
  EXPECT_EQ(r["usage"]["total_tokens"], r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>());
  EXPECT_LE(r["usage"]["completion_tokens"].get<int>(), 12);
}

// The same prompt again: every position but the last is copied from the
// server's prefix cache, and its usage says so as OpenAI's does.
TEST_F(ServerInference, ARepeatedPromptReportsItsCachedTokens) {
  auto client = server_->client();
  const std::string body = chat_body("the sea 4", 4).dump();
  const json first = test::body_json(client.Post("/v1/chat/completions", body, "application/json"));
  const json again = test::body_json(client.Post("/v1/chat/completions", body, "application/json"));
  ASSERT_TRUE(again["usage"].contains("prompt_tokens_details")) << again.dump();
  EXPECT_LT(first["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), first["usage"]["prompt_tokens"].get<int>());
  EXPECT_EQ(again["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(),
            again["usage"]["prompt_tokens"].get<int>() - 1);
  EXPECT_EQ(again["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
}

TEST_F(ServerInference, StreamJoinsToTheWholeAnswerWithUsage) {
  auto client = server_->client();
  json body = chat_body("the sea 1", 16, true);
  body["stream_options"] = {{"include_usage", true}};
  auto r = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  json usage;
  int pieces = 0;
  const auto [text, done] = join_stream(r->body, &usage, &pieces);
  EXPECT_TRUE(done);
  EXPECT_EQ(text, greedy_answer(*model_, "the sea 1", 16));
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0);
  // A piece per decoded token, however fast the tiny model is next to the reader:
  // a step's text is never merged with the next one's.
  EXPECT_GT(pieces, 1);
  EXPECT_LE(pieces, usage["completion_tokens"].get<int>());
}

TEST_F(ServerInference, CompletionsAndSeveralChoices) {
  auto client = server_->client();
  const json r = test::body_json(client.Post(
      "/v1/completions",
      json{{"model", "tiny"}, {"prompt", "the sea"}, {"max_tokens", 5}, {"n", 3}, {"seed", 7}, {"temperature", 1.0}}.dump(),
      "application/json"));
  ASSERT_EQ(r["object"], "text_completion") << r.dump();
  ASSERT_EQ(r["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r["choices"][i]["index"], i);
  // The same seed gives the same choices again.
  const json again = test::body_json(client.Post(
      "/v1/completions",
      json{{"model", "tiny"}, {"prompt", "the sea"}, {"max_tokens", 5}, {"n", 3}, {"seed", 7}, {"temperature", 1.0}}.dump(),
      "application/json"));
  EXPECT_EQ(r["choices"], again["choices"]);
}

TEST_F(ServerInference, RequestsInFlightTogetherAnswerAsAlone) {
  const std::vector<std::string> questions = {"the sea 0", "the sea 1 and a much longer question to read first",
                                              "the tin", "sea sea sea", "the sea 4", "in the"};
  std::vector<std::string> answers(questions.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < questions.size(); ++i)
    clients.emplace_back([&, i] {
      auto client = server_->client();
      const json r = test::body_json(
          client.Post("/v1/chat/completions", chat_body(questions[i], 20).dump(), "application/json"));
      answers[i] = r["choices"][0]["message"]["content"];
    });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < questions.size(); ++i) EXPECT_EQ(answers[i], greedy_answer(*model_, questions[i], 20)) << i;
}

TEST_F(ServerInference, ErrorsTakeOpenAIShapeAndStatus) {
  auto client = server_->client();
  auto expect_error = [&](const httplib::Result& r, int status, const std::string& code_or_param) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.contains("error")) << r->body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    EXPECT_TRUE(e["error"]["type"].is_string());
    if (!code_or_param.empty()) {
      EXPECT_TRUE(e["error"]["code"] == code_or_param || e["error"]["param"] == code_or_param) << r->body;
    }
  };
  expect_error(client.Post("/v1/chat/completions", "{not json", "application/json"), 400, "");
  json unknown = chat_body("x", 4);
  unknown["model"] = "gpt-nope";
  expect_error(client.Post("/v1/chat/completions", unknown.dump(), "application/json"), 404, "model_not_found");
  json hot = chat_body("x", 4);
  hot["temperature"] = 9;
  expect_error(client.Post("/v1/chat/completions", hot.dump(), "application/json"), 400, "temperature");
  expect_error(client.Post("/v1/chat/completions", chat_body("x", 65).dump(), "application/json"), 400, "max_tokens");
  // The tiny model's context is short: a long prompt does not fit.
  std::string long_question;
  for (int i = 0; i < 600; ++i) long_question += "sea ";
  expect_error(client.Post("/v1/chat/completions", chat_body(long_question, 4).dump(), "application/json"), 400,
               "context_length_exceeded");
  expect_error(client.Post("/v1/chat/completions", std::string(2 << 20, ' '), "application/json"), 413, "");
  expect_error(client.Get("/v1/nothing"), 404, "");
  expect_error(client.Get("/v1/models/none"), 404, "model_not_found");
}

TEST_F(ServerInference, ModelsHealthAndMetrics) {
  auto client = server_->client();
  EXPECT_EQ(test::body_json(client.Get("/health"))["status"], "ok");
  const json models = test::body_json(client.Get("/v1/models"));
  ASSERT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(test::body_json(client.Get("/v1/models/tiny"))["id"], "tiny");
  test::body_json(client.Post("/v1/chat/completions", chat_body("the sea", 3).dump(), "application/json"));
  // A request is counted once its response has been written, which the client
  // can see before the server's logger has run: wait for the count to land.
  const std::string chat_counted =
      "whet_http_requests_total{endpoint=\"chat_completions\",method=\"POST\",status=\"200\"}";
  std::string metrics;
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);;) {
    auto response = client.Get("/metrics");
    ASSERT_TRUE(response);
    metrics = response->body;
    if (metrics.find(chat_counted) != std::string::npos || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const std::string& expected : std::vector<std::string>{
           "# TYPE whet_http_requests_total counter", chat_counted,
        "# TYPE whet_http_request_duration_seconds histogram", "whet_time_to_first_token_seconds_count",
        "whet_generated_tokens_total{model=\"tiny\"}", "whet_queue_depth{base=\"tiny\"}",
        "whet_fine_tuning_jobs{state=\"running\"} 0", "whet_generation_tokens_per_second"})
    EXPECT_NE(metrics.find(expected), std::string::npos) << expected << "\n" << metrics;
}

// A reader that falls behind the engine still gets each step's text as its own piece, in order,
// and the end with the last one: what makes a stream stream however fast the model is.
TEST(SequenceStreamPieces, AReaderBehindTheEngineGetsEveryPieceOnItsOwn) {
  serve::SequenceStream stream;
  stream.append("Hel", 1);
  stream.append("", 2);  // a step whose text is held back (an unfinished UTF-8 character) is no piece
  stream.append("lo", 3);
  stream.append(" world", 4);
  stream.finish("stop");
  std::vector<std::string> pieces;
  serve::SequenceStream::Update u;
  do {
    u = stream.next();
    pieces.push_back(u.text);
  } while (!u.finished);
  EXPECT_EQ(pieces, (std::vector<std::string>{"Hel", "lo", " world"}));
  EXPECT_EQ(u.finish_reason, "stop");
  EXPECT_EQ(u.completion_tokens, 4);
}

TEST(ServerKeys, ManagementNeedsAKeyInferenceMayBeOpen) {
  auto options = test::tiny_server_options(test::scratch_dir("serve_keys"));
  options.api_keys = {"sk-test"};
  options.public_inference = true;
  test::RunningServer server(options);
  auto anonymous = server.client();
  auto keyed = server.client("sk-test");
  auto wrong = server.client("sk-wrong");
  EXPECT_EQ(anonymous.Get("/v1/files")->status, 401);
  EXPECT_EQ(wrong.Get("/v1/fine_tuning/jobs")->status, 401);
  EXPECT_EQ(json::parse(wrong.Get("/v1/files")->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(keyed.Get("/v1/files")->status, 200);
  EXPECT_EQ(anonymous.Get("/v1/models")->status, 200);
  EXPECT_EQ(anonymous.Post("/v1/load_lora_adapter", "{}", "application/json")->status, 401);
  EXPECT_EQ(anonymous.Get("/health")->status, 200);
}

TEST(ServerKeys, WithoutPublicInferenceEverythingNeedsAKey) {
  auto options = test::tiny_server_options(test::scratch_dir("serve_keys_closed"));
  options.api_keys = {"sk-a", "sk-b"};
  test::RunningServer server(options);
  EXPECT_EQ(server.client().Get("/v1/models")->status, 401);
  EXPECT_EQ(server.client("sk-b").Get("/v1/models")->status, 200);
}

// An adapter whose training run failed its forgetting gate is listed, with the
// reason, but requests for it are refused (403, model_gated) unless the server
// was started with --allow-gated; one that passed is served as any other.
TEST(ServerGate, AGatedAdapterIsRefusedUnlessAllowed) {
  const std::string dir = test::scratch_dir("serve_gate");
  const LoadedModel model = load_model(test::tiny_model_path());
  auto adapter_dir = [&](const std::string& name, double perplexity_rise) {
    const std::string path = dir + "/" + name;
    LoraConfig config;
    save_peft_adapter(make_lora(model.model.config, config, 7), model.model.config, path, test::tiny_model_path());
    // A verdict worked out by hand: general perplexity 10 -> 10·(1+rise) on 8 texts, each worse by the same amount.
    auto text = [](double per_token) {
      TaskResult r;
      r.kind = TaskKind::Perplexity;
      for (int i = 0; i < 8; ++i) {
        r.per_item["nll"].push_back(10 * per_token + 0.01 * i);
        r.per_item["tokens"].push_back(10);
        r.predictions.emplace_back();
      }
      r.metrics.push_back({"perplexity", std::exp(per_token), {}, false});
      return r;
    };
    GateVerdict verdict = judge_forgetting(GateScores{{text(std::log(10.0))}, {}},
                                           GateScores{{text(std::log(10.0 * (1 + perplexity_rise)))}, {}},
                                           {0.10, 0.05});
    write_gate_verdict(path, verdict);
    return name + "=" + path;
  };
  serve::ServerOptions options = test::tiny_server_options(dir + "/data");
  options.allow_gated = false;
  options.adapters = {adapter_dir("held", 0.5), adapter_dir("fine", 0.01)};
  auto ask = [](const test::RunningServer& server, const std::string& model) {
    json body = chat_body("hello", 2);
    body["model"] = model;
    return server.client().Post("/v1/chat/completions", body.dump(), "application/json");
  };
  {
    const test::RunningServer server(options);
    const json models = test::body_json(server.client().Get("/v1/models"));
    bool listed = false;
    for (const json& m : models["data"]) {
      if (m["id"] == "held") {
        listed = true;
        EXPECT_NE(m["gate_failure"].get<std::string>().find("perplexity"), std::string::npos) << m;
      }
      if (m["id"] == "fine") {
        EXPECT_FALSE(m.contains("gate_failure")) << m;
      }
    }
    EXPECT_TRUE(listed) << models;
    const auto refused = ask(server, "held");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403) << refused->body;
    EXPECT_EQ(test::body_json(refused)["error"]["code"], "model_gated") << refused->body;
    EXPECT_EQ(ask(server, "fine")->status, 200);
  }
  options.allow_gated = true;
  options.data_dir = dir + "/data-allowed";
  const test::RunningServer allowed(options);
  EXPECT_EQ(ask(allowed, "held")->status, 200);
}

// --adapter-scale applies to the adapters served from the command line: at 0.5
// an adapter answers as the base with half its update, computed without the server.
TEST(ServerAdapterScale, CommandLineAdaptersAnswerAtTheirScale) {
  const std::string dir = test::testdata_path("tiny/gqa_tied/gradients/lora");
  serve::ServerOptions options = test::tiny_server_options(test::scratch_dir("serve_adapter_scale"));
  options.adapters = {"half=" + dir};
  options.adapter_scale = 0.5f;
  test::RunningServer server(options);
  auto client = server.client();
  json body = chat_body("the sea 3", 12);
  body["model"] = "half";
  const json r = test::body_json(client.Post("/v1/chat/completions", body.dump(), "application/json"));
  ASSERT_EQ(r["object"], "chat.completion") << r.dump();

  LoadedModel model = load_model(test::tiny_model_path());
  LlamaLora lora = load_peft_adapter(dir, model.model.config);
  model.adapter = std::make_shared<const LlamaLora>(lora);
  const std::string full = greedy_answer(model, "the sea 3", 12);
  lora.config.strength = 0.5f;
  model.adapter = std::make_shared<const LlamaLora>(lora);
  const std::string half = greedy_answer(model, "the sea 3", 12);
  ASSERT_NE(half, full) << "the scale does not change this answer, so the test would prove nothing";
  EXPECT_EQ(r["choices"][0]["message"]["content"], half);
}

}  // namespace
}  // namespace whet
