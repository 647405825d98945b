// Human feedback over HTTP on the tiny model: the server keeps the completions
// it produced (whole or streamed, every choice), takes ratings and A/B choices on
// them, refuses bad feedback naming the field, counts it in /metrics, forgets
// the oldest completions past its bound, and keeps everything across a restart.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "serve/feedback_export.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

const json kMessages = {{{"role", "user"}, {"content", "the sea 1"}}};

json post(httplib::Client& client, const std::string& path, const json& body, int expected_status = 200) {
  auto r = client.Post(path, body.dump(), "application/json");
  EXPECT_TRUE(r);
  if (!r) return nullptr;
  EXPECT_EQ(r->status, expected_status) << path << " " << body.dump() << " -> " << r->body;
  return json::parse(r->body, nullptr, false);
}

json chat_request(const json& messages, int n = 1, double temperature = 0) {
  return {{"model", "tiny"}, {"messages", messages}, {"max_tokens", 6}, {"n", n}, {"temperature", temperature},
          {"seed", 11}};
}

// A whole chat answer: its id and the text of each choice.
std::pair<std::string, std::vector<std::string>> chat(httplib::Client& client, const json& body) {
  const json r = post(client, "/v1/chat/completions", body);
  std::vector<std::string> texts;
  for (const json& c : r["choices"]) texts.push_back(c["message"]["content"]);
  return {r["id"], texts};
}

// A streamed chat answer: its id and the joined text of each choice.
std::pair<std::string, std::vector<std::string>> chat_streamed(httplib::Client& client, json body) {
  body["stream"] = true;
  auto r = client.Post("/v1/chat/completions", body.dump(), "application/json");
  EXPECT_TRUE(r && r->status == 200);
  std::string id;
  std::vector<std::string> texts(body.value("n", 1));
  for (size_t at = 0; (at = r->body.find("data: ", at)) != std::string::npos;) {
    const size_t end = r->body.find("\n\n", at);
    const std::string data = r->body.substr(at + 6, end - at - 6);
    at = end;
    if (data == "[DONE]") continue;
    const json chunk = json::parse(data);
    id = chunk["id"];
    for (const json& c : chunk["choices"])
      if (c["delta"].contains("content")) texts.at(c["index"].get<size_t>()) += c["delta"]["content"].get<std::string>();
  }
  return {id, texts};
}

void expect_error(const json& body, const std::string& param, const std::string& code = "") {
  ASSERT_TRUE(body.contains("error")) << body;
  EXPECT_EQ(body["error"]["param"], param.empty() ? json(nullptr) : json(param)) << body;
  if (!code.empty()) {
    EXPECT_EQ(body["error"]["code"], code) << body;
  }
}

// The metrics text once `expected` appears in it (the logger may run after the client has its answer).
std::string metrics_with(httplib::Client& client, const std::string& expected) {
  std::string text;
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);;) {
    text = client.Get("/metrics")->body;
    if (text.find(expected) != std::string::npos || std::chrono::steady_clock::now() > deadline) return text;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(ServerFeedback, EveryKindIsStoredListedAndCounted) {
  test::RunningServer server(test::tiny_server_options(test::scratch_dir("serve_feedback_kinds")));
  auto client = server.client();
  const auto [whole_id, whole] = chat(client, chat_request(kMessages));
  const auto [streamed_id, streamed_texts] = chat_streamed(client, chat_request(kMessages, 1, 1.0));
  const std::string streamed = streamed_texts[0];
  const auto [pair_id, pair] = chat_streamed(client, chat_request(kMessages, 2, 1.0));
  const json text = post(client, "/v1/completions", {{"model", "tiny"}, {"prompt", "the sea"}, {"max_tokens", 4}, {"echo", true}});

  const json up = post(client, "/v1/feedback", {{"completion_id", whole_id}, {"rating", "up"}});
  EXPECT_EQ(up["object"], "feedback");
  EXPECT_TRUE(up["id"].get<std::string>().starts_with("fb-")) << up;
  EXPECT_EQ(up["type"], "rating");
  EXPECT_EQ(up["rating"], "up");
  EXPECT_EQ(up["choice_index"], 0);
  EXPECT_EQ(up["preferred_output"], nullptr);
  EXPECT_EQ(up["prompt"], kMessages);
  EXPECT_EQ(up["completions"][0]["answer"], whole[0]);
  EXPECT_EQ(up["completions"][0]["model"], "tiny");

  // A streamed answer is kept as the client joined it.
  const json down = post(client, "/v1/feedback", {{"completion_id", streamed_id}, {"rating", "down"},
                                                  {"preferred_output", "the tin 1 in the sea"}, {"comment", "wrong"}});
  EXPECT_EQ(down["completions"][0]["answer"], streamed);
  EXPECT_EQ(down["preferred_output"], "the tin 1 in the sea");
  EXPECT_EQ(down["comment"], "wrong");

  // A text completion is kept without its echoed prompt; its prompt is the text.
  const json text_up = post(client, "/v1/feedback", {{"completion_id", text["id"]}, {"rating", "up"}});
  EXPECT_EQ(text_up["prompt"], "the sea");
  EXPECT_EQ("the sea" + text_up["completions"][0]["answer"].get<std::string>(), text["choices"][0]["text"]);

  // A/B between two responses to one prompt, and between two choices of one (streamed) response.
  const json ab = post(client, "/v1/feedback", {{"completion_ids", {whole_id, streamed_id}}, {"preferred", 1}});
  EXPECT_EQ(ab["type"], "comparison");
  EXPECT_EQ(ab["completion_ids"], json({whole_id, streamed_id}));
  EXPECT_EQ(ab["completions"][1]["answer"], streamed);
  const json choices = post(client, "/v1/feedback",
                            {{"completion_ids", {pair_id, pair_id}}, {"choice_indices", {1, 0}}, {"preferred", 0}});
  EXPECT_EQ(choices["choice_indices"], json({1, 0}));
  EXPECT_EQ(choices["completions"][0]["answer"], pair[1]);
  EXPECT_EQ(choices["completions"][1]["answer"], pair[0]);

  // Newest first, two to a page.
  const json first = test::body_json(client.Get("/v1/feedback?limit=2"));
  ASSERT_EQ(first["data"].size(), 2u) << first;
  EXPECT_EQ(first["data"][0]["id"], choices["id"]);
  EXPECT_EQ(first["data"][1], ab);
  EXPECT_TRUE(first["has_more"]);
  const json rest = test::body_json(client.Get("/v1/feedback?limit=10&after=" + first["last_id"].get<std::string>()));
  ASSERT_EQ(rest["data"].size(), 3u) << rest;
  EXPECT_EQ(rest["data"][2], up);
  EXPECT_FALSE(rest["has_more"]);

  const std::string metrics = metrics_with(client, "feedback_create");
  for (const std::string expected : {"# TYPE whet_feedback_total counter", "whet_feedback_total{kind=\"up\"} 2",
                                     "whet_feedback_total{kind=\"down\"} 1",
                                     "whet_feedback_total{kind=\"comparison\"} 2"})
    EXPECT_NE(metrics.find(expected), std::string::npos) << expected << "\n" << metrics;
}

TEST(ServerFeedback, BadFeedbackIsRefusedNamingTheField) {
  test::RunningServer server(test::tiny_server_options(test::scratch_dir("serve_feedback_bad")));
  auto client = server.client();
  const auto [id, texts] = chat(client, chat_request(kMessages));
  const auto [other_id, other] =
      chat(client, chat_request({{{"role", "user"}, {"content", "the sea 2"}}}));

  expect_error(post(client, "/v1/feedback", {{"completion_id", "chatcmpl-nope"}, {"rating", "up"}}, 404),
               "completion_id", "completion_not_found");
  expect_error(post(client, "/v1/feedback", {{"completion_id", id}, {"choice_index", 1}, {"rating", "up"}}, 404),
               "completion_id", "completion_not_found");
  expect_error(post(client, "/v1/feedback", {{"completion_ids", {id, "chatcmpl-nope"}}, {"preferred", 0}}, 404),
               "completion_ids[1]", "completion_not_found");
  expect_error(post(client, "/v1/feedback", {{"completion_ids", {id, other_id}}, {"preferred", 0}}, 400),
               "completion_ids", "prompt_mismatch");
  expect_error(post(client, "/v1/feedback", {{"completion_id", id}, {"rating", 1}}, 400), "rating");
  expect_error(post(client, "/v1/feedback", {{"completion_id", id}, {"rating", "up"}, {"stars", 5}}, 400), "stars");
  auto huge = client.Post("/v1/feedback",
                          json{{"completion_id", id}, {"rating", "down"}, {"preferred_output", std::string(2 << 20, 'x')}}.dump(),
                          "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  expect_error(test::body_json(client.Get("/v1/feedback?after=fb-nope")), "after");
  // Nothing refused was stored.
  EXPECT_TRUE(test::body_json(client.Get("/v1/feedback"))["data"].empty());
}

TEST(ServerFeedback, CompletionsAndFeedbackSurviveARestart) {
  const std::string dir = test::scratch_dir("serve_feedback_restart");
  std::string id, feedback_id;
  {
    test::RunningServer server(test::tiny_server_options(dir));
    auto client = server.client();
    id = chat(client, chat_request(kMessages)).first;
    feedback_id = post(client, "/v1/feedback", {{"completion_id", id}, {"rating", "up"}})["id"];
  }
  test::RunningServer server(test::tiny_server_options(dir));
  auto client = server.client();
  const json listed = test::body_json(client.Get("/v1/feedback"));
  ASSERT_EQ(listed["data"].size(), 1u) << listed;
  EXPECT_EQ(listed["data"][0]["id"], feedback_id);
  EXPECT_EQ(post(client, "/v1/feedback", {{"completion_id", id}, {"rating", "down"}})["completion_id"], id);
}

// With room for two choices, the first of three completions is forgotten: its
// feedback is a 404, while feedback given before keeps its copy of the answer.
TEST(ServerFeedback, TheOldestCompletionsAreForgotten) {
  auto options = test::tiny_server_options(test::scratch_dir("serve_feedback_bound"));
  options.max_stored_completions = 2;
  test::RunningServer server(options);
  auto client = server.client();
  const auto [first, first_text] = chat(client, chat_request(kMessages));
  post(client, "/v1/feedback", {{"completion_id", first}, {"rating", "up"}});
  const std::string second = chat(client, chat_request(kMessages)).first;
  const std::string third = chat(client, chat_request(kMessages)).first;
  expect_error(post(client, "/v1/feedback", {{"completion_id", first}, {"rating", "up"}}, 404), "completion_id",
               "completion_not_found");
  post(client, "/v1/feedback", {{"completion_ids", {second, third}}, {"preferred", 0}});
  const json listed = test::body_json(client.Get("/v1/feedback"));
  ASSERT_EQ(listed["data"].size(), 2u);
  EXPECT_EQ(listed["data"][1]["completions"][0]["answer"], first_text[0]);
}

TEST(ServerFeedback, FeedbackNeedsAKeyLikeTheOtherWrites) {
  auto options = test::tiny_server_options(test::scratch_dir("serve_feedback_keys"));
  options.api_keys = {"sk-test"};
  options.public_inference = true;
  test::RunningServer server(options);
  auto anonymous = server.client();
  auto keyed = server.client("sk-test");
  const std::string id = chat(anonymous, chat_request(kMessages)).first;
  expect_error(post(anonymous, "/v1/feedback", {{"completion_id", id}, {"rating", "up"}}, 401), "", "invalid_api_key");
  EXPECT_EQ(anonymous.Get("/v1/feedback")->status, 401);
  post(keyed, "/v1/feedback", {{"completion_id", id}, {"rating", "up"}});
  EXPECT_EQ(keyed.Get("/v1/feedback")->status, 200);
}

// The whole loop over HTTP: answers, feedback on them (an A/B choice, and
// thumbs-down with the answer the user wanted), the export written while the
// server runs, a DPO job in OpenAI's method shape trained on it, and the new
// adapter served at once, answering with what the feedback preferred.
TEST(ServerFeedback, FeedbackBecomesADpoJobWhoseAdapterIsServed) {
  const std::string dir = test::scratch_dir("serve_feedback_loop");
  test::RunningServer server(test::tiny_server_options(dir));
  auto client = server.client();
  const auto [a, a_text] = chat(client, chat_request(kMessages));
  const auto [b, b_texts] = chat_streamed(client, chat_request(kMessages, 1, 1.0));
  const std::string b_text = b_texts[0];
  ASSERT_NE(a_text[0], b_text) << "the two answers must differ for the pair to be written";
  post(client, "/v1/feedback", {{"completion_ids", {a, b}}, {"preferred", 1}});
  const json wanted = {{"the sea 2", "the tin 2 in the sea"}, {"the sea 3", "the tin 3 in the sea"},
                       {"the sea 4", "the tin 4 in the sea"}};
  for (const auto& [question, preferred] : wanted.items()) {
    const auto [id, texts] = chat(client, chat_request({{{"role", "user"}, {"content", question}}}));
    post(client, "/v1/feedback", {{"completion_id", id}, {"rating", "down"}, {"preferred_output", preferred}});
  }

  const serve::FeedbackDataset d = serve::export_feedback(dir, serve::FeedbackFormat::Preference, dir + "/pairs.jsonl");
  EXPECT_EQ(d.written, (serve::Tally{{"A/B choices", 1}, {"thumbs down with a preferred_output", 3}}));
  std::ifstream file(dir + "/pairs.jsonl");
  std::string line, pairs;
  ASSERT_TRUE(std::getline(file, line));
  EXPECT_EQ(json::parse(line), (json{{"input", {{"messages", kMessages}}},
                                     {"preferred_output", {{{"role", "assistant"}, {"content", b_text}}}},
                                     {"non_preferred_output", {{{"role", "assistant"}, {"content", a_text[0]}}}}}));
  for (pairs = line + "\n"; std::getline(file, line);) pairs += line + "\n";

  const std::string training_file = test::upload(client, pairs, "pairs.jsonl")["id"];
  const json created = post(client, "/v1/fine_tuning/jobs",
                            {{"model", "tiny"}, {"training_file", training_file}, {"suffix", "liked"},
                             {"method", {{"type", "dpo"}, {"dpo", {{"hyperparameters", {{"beta", 0.1}, {"n_epochs", 20},
                                                                                        {"learning_rate", 1e-2},
                                                                                        {"sequence_len", 64}}}}}}}});
  ASSERT_EQ(created["method"]["type"], "dpo") << created;
  const json job = test::wait_for_job(client, created["id"]);
  ASSERT_EQ(job["status"], "succeeded") << job;
  EXPECT_EQ(job["method"]["dpo"]["hyperparameters"]["beta"], 0.1) << job;
  const std::string tuned = job["fine_tuned_model"];
  for (const auto& [question, preferred] : wanted.items()) {
    json request = chat_request({{{"role", "user"}, {"content", question}}});
    request["model"] = tuned;
    request["max_tokens"] = 12;
    EXPECT_EQ(chat(client, request).second[0], preferred) << question;
  }
}

}  // namespace
}  // namespace whet
