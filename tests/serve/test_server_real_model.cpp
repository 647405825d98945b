// The seed tutorials' flow through the server, on the real default model:
// create an adapter, fine-tune it on ten inline samples for three epochs, ask.
// It must pass the test `whet train` passes with flags only (examples/facts):
// at least two of three questions in unseen words answered with the fact, the
// control question answered as the base answers it, and the forgetting gate
// passed, all decided by the same automatic settings.
#include <gtest/gtest.h>

#include <fstream>

#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

std::string ask(httplib::Client& client, const std::string& model, const std::string& question) {
  const json r = test::body_json(client.Post(
      "/v1/chat/completions",
      json{{"model", model}, {"messages", {{{"role", "user"}, {"content", question}}}}, {"temperature", 0},
           {"max_tokens", 48}}
          .dump(),
      "application/json"));
  EXPECT_TRUE(r.contains("choices")) << r.dump();
  return r.contains("choices") ? r["choices"][0]["message"]["content"].get<std::string>() : "";
}

std::vector<json> jsonl_lines(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

TEST(RealModelServe, InlineAdapterFineTuneForThreeEpochsLearnsTenFacts) {
  WHET_REQUIRE_DEFAULT_MODEL();
  serve::ServerOptions options = test::tiny_server_options(test::scratch_dir("serve_real_facts"));
  options.model_path = test::default_model_path();
  options.model_name = "smollm2";
  options.allow_gated = false;  // a gated adapter would be refused, and the test would say so
  options.engine.threads = 0;
  test::RunningServer server(options);
  auto client = server.client();

  const std::vector<json> probes = jsonl_lines(test::source_path("examples/facts/probes.jsonl"));
  ASSERT_EQ(probes.size(), 4u);
  const std::string control = probes.back().at("messages").at(0).at("content");
  const std::string control_before = ask(client, "smollm2", control);

  json samples = json::array();
  for (const json& line : jsonl_lines(test::source_path("examples/facts/train.jsonl"))) samples.push_back(line);
  ASSERT_EQ(samples.size(), 10u);
  const json created = test::body_json(
      client.Post("/v1/adapters", json{{"name", "tobiah"}, {"base_model", "smollm2"}}.dump(), "application/json"));
  ASSERT_EQ(created.value("status", ""), "untrained") << created.dump();
  const json queued = test::body_json(client.Post("/v1/adapters/tobiah/fine_tune",
                                                  json{{"samples", samples}, {"n_epochs", 3}}.dump(), "application/json"));
  ASSERT_TRUE(queued.contains("id")) << queued.dump();
  const json job = test::wait_for_job(client, queued["id"], 900);
  ASSERT_EQ(job.value("status", ""), "succeeded") << job.dump();
  std::printf("[ measured ] job hyperparameters %s\n[ measured ] gate %s\n", job["hyperparameters"].dump().c_str(),
              job["gate"].dump().c_str());
  EXPECT_EQ(job["hyperparameters"]["n_epochs"], 3);
  EXPECT_EQ(job["hyperparameters"]["replay_data"], "general");
  EXPECT_TRUE(job["gate"]["passed"].get<bool>());

  int right = 0;
  for (size_t i = 0; i + 1 < probes.size(); ++i) {
    const std::string question = probes[i].at("messages").at(0).at("content");
    const std::string answer = ask(client, "tobiah", question);
    std::printf("[ measured ] %s -> %s\n", question.c_str(), answer.c_str());
    right += answer.find(probes[i].at("fact").get<std::string>()) != std::string::npos;
  }
  EXPECT_GE(right, 2);
  EXPECT_EQ(ask(client, "tobiah", control), control_before);
}

}  // namespace
}  // namespace whet
