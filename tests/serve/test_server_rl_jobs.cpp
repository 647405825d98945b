// The rl methods as jobs over HTTP on the tiny model: a reward job whose model
// POST /v1/score serves at once and after a restart, and OpenAI's reinforcement
// job (GRPO) on uploaded prompts with a grader of the client's, whose adapter is served.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

json post(httplib::Client& client, const std::string& path, const json& body) {
  return test::body_json(client.Post(path, body.dump(), "application/json"));
}

json score(httplib::Client& client, const std::string& model, const std::string& question, const std::string& answer) {
  const json input = {{"prompt", {{{"role", "user"}, {"content", question}}}}, {"completion", answer}};
  return post(client, "/v1/score", {{"model", model}, {"input", json::array({input})}});
}

// Pairs where the preferred answer names the tin and the other the oak.
std::string tin_over_oak_pairs() {
  std::string lines;
  for (int i = 0; i < 6; ++i)
    lines += json{{"prompt", {{{"role", "user"}, {"content", fmt::format("the sea {}", i)}}}},
                  {"chosen", {{{"role", "assistant"}, {"content", fmt::format("the tin {}", i)}}}},
                  {"rejected", {{{"role", "assistant"}, {"content", fmt::format("the oak {}", i)}}}}}.dump() + "\n";
  return lines;
}

TEST(ServerRlJobs, ARewardJobsModelScoresAtOnceAndAfterARestart) {
  const std::string dir = test::scratch_dir("serve_reward_job");
  std::string reward_model;
  {
    test::RunningServer server(test::tiny_server_options(dir));
    auto client = server.client();
    const std::string file = test::upload(client, tin_over_oak_pairs(), "pairs.jsonl")["id"];
    const json created = post(client, "/v1/fine_tuning/jobs",
                              {{"model", "tiny"}, {"training_file", file},
                               {"method", {{"type", "reward"}, {"reward", {{"hyperparameters", {{"n_epochs", 15},
                                           {"learning_rate", 1e-2}, {"sequence_len", 64}}}}}}}});
    ASSERT_EQ(created["method"]["type"], "reward") << created;
    const json job = test::wait_for_job(client, created["id"]);
    ASSERT_EQ(job["status"], "succeeded") << job;
    reward_model = job["fine_tuned_model"];
    for (int i : {1, 4}) {
      const json tin = score(client, reward_model, fmt::format("the sea {}", i), fmt::format("the tin {}", i));
      const json oak = score(client, reward_model, fmt::format("the sea {}", i), fmt::format("the oak {}", i));
      ASSERT_EQ(tin["object"], "list") << tin;
      EXPECT_GT(tin["data"][0]["score"].get<double>(), oak["data"][0]["score"].get<double>()) << i;
    }
    // A reward model scores; it does not chat.
    const json chat = post(client, "/v1/chat/completions",
                           {{"model", reward_model}, {"messages", {{{"role", "user"}, {"content", "the sea 1"}}}}});
    EXPECT_TRUE(chat.contains("error")) << chat;
  }
  test::RunningServer restarted(test::tiny_server_options(dir));
  auto client = restarted.client();
  const json again = score(client, reward_model, "the sea 2", "the tin 2");
  ASSERT_EQ(again["object"], "list") << again;
  EXPECT_GT(again["data"][0]["score"].get<double>(), score(client, reward_model, "the sea 2", "the oak 2")["data"][0]["score"].get<double>());
}

TEST(ServerRlJobs, AReinforcementJobTrainsOnPromptsWithTheClientsGrader) {
  test::RunningServer server(test::tiny_server_options(test::scratch_dir("serve_grpo_job")));
  auto client = server.client();
  std::string prompts;
  for (int i = 0; i < 4; ++i)
    prompts += json{{"messages", {{{"role", "user"}, {"content", fmt::format("the sea {}", i)}}}},
                    {"answer", fmt::format("the tin {}", i)}}.dump() + "\n";
  const std::string file = test::upload(client, prompts, "prompts.jsonl")["id"];
  const json grader = {{"type", "text_similarity"}, {"name", "close"}, {"input", "{{sample.output_text}}"},
                       {"reference", "{{item.answer}}"}, {"evaluation_metric", "fuzzy_match"}};
  const json refused = post(client, "/v1/fine_tuning/jobs",
                            {{"model", "tiny"}, {"training_file", file}, {"method", "lora"}});
  EXPECT_EQ(refused["error"]["param"], "training_file") << refused;  // prompts have no answer to learn
  const json created = post(client, "/v1/fine_tuning/jobs",
                            {{"model", "tiny"}, {"training_file", file},
                             {"method", {{"type", "reinforcement"},
                                         {"reinforcement", {{"grader", grader},
                                                            {"hyperparameters", {{"max_steps", 3}, {"num_generations", 2},
                                                                                 {"max_completion_length", 8},
                                                                                 {"sequence_len", 64}}}}}}}});
  ASSERT_EQ(created["method"]["type"], "reinforcement") << created;
  EXPECT_EQ(created["method"]["reinforcement"]["grader"], grader);
  const json job = test::wait_for_job(client, created["id"]);
  ASSERT_EQ(job["status"], "succeeded") << job;
  // Each step's rollout rewards reach the job's metrics events.
  const json events = test::body_json(client.Get("/v1/fine_tuning/jobs/" + created["id"].get<std::string>() + "/events?limit=100"));
  bool rewarded = false;
  for (const json& e : events["data"])
    if (e["type"] == "metrics" && e["data"].contains("reward")) rewarded = true;
  EXPECT_TRUE(rewarded) << events;
  const json chat = post(client, "/v1/chat/completions",
                         {{"model", job["fine_tuned_model"]}, {"max_tokens", 4},
                          {"messages", {{{"role", "user"}, {"content", "the sea 1"}}}}});
  EXPECT_EQ(chat["object"], "chat.completion") << chat;
}

}  // namespace
}  // namespace whet
