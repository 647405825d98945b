// Files, fine-tuning jobs and adapters over HTTP on a tiny model: uploads are
// checked line by line, a job trains and its result answers at once (with the
// trained adapter's own output), cancelling stops a job, a server stopped
// mid-job resumes it on restart and its model gives the tuned answer, adapters
// load, unload and train inline, and two adapters served at once each answer
// with what they were taught.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "generate/generator.h"
#include "generate/prompt.h"
#include "models/lora_peft.h"
#include "models/model_loader.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json post(httplib::Client& client, const std::string& path, const json& body) {
  return test::body_json(client.Post(path, body.dump(), "application/json"));
}

std::string chat(httplib::Client& client, const std::string& model, const std::string& question) {
  const json r = post(client, "/v1/chat/completions",
                      {{"model", model}, {"messages", {{{"role", "user"}, {"content", question}}}}, {"temperature", 0},
                       {"max_tokens", 10}});
  EXPECT_TRUE(r.contains("choices")) << r.dump();
  return r.contains("choices") ? r["choices"][0]["message"]["content"].get<std::string>() : "";
}

// Every event of a job, newest first, page by page.
std::vector<json> all_events(httplib::Client& client, const std::string& id) {
  std::vector<json> events;
  std::string after;
  for (;;) {
    const json page = test::body_json(client.Get("/v1/fine_tuning/jobs/" + id + "/events?limit=100" +
                                                 (after.empty() ? "" : "&after=" + after)));
    for (const json& e : page["data"]) events.push_back(e);
    if (!page["has_more"].get<bool>()) return events;
    after = page["last_id"];
  }
}

// What the base with the adapter in `dir` answers, computed without the server.
std::string answer_with_adapter(const std::string& dir, const std::string& question) {
  LoadedModel model = load_model(test::tiny_model_path());
  model.adapter = std::make_shared<const LlamaLora>(load_peft_adapter(dir, model.model.config));
  Session session(model.model, 256);
  GenerationOptions options;
  options.sampling.temperature = 0;
  options.max_tokens = 10;
  const std::string text = generate(model, session, chat_prompt_tokens(model, {{"user", question}}), options).text;
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();  // as served
}

TEST(ServerFiles, UploadsAreValidatedStoredAndDeleted) {
  const std::string data = test::scratch_dir("serve_files");
  test::RunningServer server(test::tiny_server_options(data));
  auto client = server.client();
  const std::string bad = test::chat_jsonl(1) + "{\"messages\": [}\n" + test::chat_jsonl(1) + "{\"text\": 5}\n";
  auto refused = client.Post("/v1/files", httplib::MultipartFormDataItems{{"purpose", "fine-tune", "", ""},
                                                                          {"file", bad, "mine.jsonl", ""}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  const std::string message = json::parse(refused->body)["error"]["message"];
  EXPECT_NE(message.find("mine.jsonl:2"), std::string::npos) << message;
  EXPECT_NE(message.find("mine.jsonl:4"), std::string::npos) << message;
  EXPECT_EQ(message.find(data), std::string::npos) << "the server's paths stay private: " << message;

  const json file = test::upload(client, test::chat_jsonl(4), "../../etc/passwd");
  ASSERT_EQ(file["object"], "file") << file.dump();
  EXPECT_EQ(file["filename"], "../../etc/passwd");  // a label only
  for (const auto& entry : fs::recursive_directory_iterator(data))
    EXPECT_EQ(entry.path().string().find("passwd"), std::string::npos) << entry.path();
  EXPECT_EQ(test::body_json(client.Get("/v1/files"))["data"].size(), 1u);
  EXPECT_EQ(client.Get("/v1/files/" + file["id"].get<std::string>() + "/content")->body, test::chat_jsonl(4));
  EXPECT_TRUE(test::body_json(client.Delete("/v1/files/" + file["id"].get<std::string>()))["deleted"]);
  EXPECT_EQ(client.Get("/v1/files/" + file["id"].get<std::string>())->status, 404);
}

TEST(ServerJobs, AJobTrainsAndItsModelAnswersAtOnce) {
  const std::string data = test::scratch_dir("serve_job");
  test::RunningServer server(test::tiny_server_options(data));
  auto client = server.client();
  const std::string train = test::upload(client, test::chat_jsonl(20))["id"];
  const std::string val = test::upload(client, test::chat_jsonl(5), "val.jsonl")["id"];
  const json created = post(client, "/v1/fine_tuning/jobs",
                            {{"model", "tiny"}, {"training_file", train}, {"validation_file", val}, {"suffix", "sea"},
                             {"hyperparameters", {{"n_epochs", 3}, {"learning_rate", 1e-2}, {"save_steps", 2},
                                                  {"sequence_len", 64}}}});
  ASSERT_EQ(created["object"], "fine_tuning.job") << created.dump();
  EXPECT_TRUE(created["fine_tuned_model"].is_null());
  const std::string id = created["id"];
  const json job = test::wait_for_job(client, id);
  ASSERT_EQ(job["status"], "succeeded") << job.dump();
  const std::string name = job["fine_tuned_model"];
  EXPECT_EQ(name, "ft:tiny:sea:" + id);
  // Given values ran as given; those not given were decided from the 20 examples and reported.
  const json& h = job["hyperparameters"];
  EXPECT_EQ(h["n_epochs"], 3) << h.dump();
  EXPECT_DOUBLE_EQ(h["learning_rate"].get<double>(), 1e-2);
  EXPECT_EQ(h["batch_size"], 1) << h.dump();
  EXPECT_EQ(h["lora_r"], 8) << h.dump();
  EXPECT_EQ(h["lora_alpha"], 16) << h.dump();

  int metrics_events = 0, validation_events = 0, auto_events = 0;
  for (const json& e : all_events(client, id)) {
    if (e["type"] == "metrics") ++metrics_events;
    if (e["type"] == "metrics" && e["data"].contains("valid_loss")) ++validation_events;
    auto_events += e["message"].get<std::string>().starts_with("auto: ");
  }
  EXPECT_EQ(auto_events, 11);  // every key not given, each with its reason (gradient_checkpointing, memory_budget_mib among them)
  EXPECT_EQ(h["replay_data"], "general") << h.dump();
  EXPECT_GT(metrics_events, 2);
  EXPECT_GT(validation_events, 0);
  const json page = test::body_json(client.Get("/v1/fine_tuning/jobs/" + id + "/events?limit=2"));
  EXPECT_EQ(page["data"].size(), 2u);
  EXPECT_TRUE(page["has_more"]);
  const json checkpoints = test::body_json(client.Get("/v1/fine_tuning/jobs/" + id + "/checkpoints"));
  ASSERT_FALSE(checkpoints["data"].empty()) << checkpoints.dump();
  EXPECT_EQ(checkpoints["data"][0]["object"], "fine_tuning.job.checkpoint");
  EXPECT_TRUE(checkpoints["data"][0]["fine_tuned_model_checkpoint"].get<std::string>().starts_with(name + ":ckpt-step-"))
      << checkpoints.dump();
  EXPECT_EQ(test::body_json(client.Get("/v1/fine_tuning/jobs"))["data"][0]["id"], id);

  const json models = test::body_json(client.Get("/v1/models"));
  bool listed = false;
  for (const json& m : models["data"]) listed |= m["id"] == name;
  EXPECT_TRUE(listed) << models.dump();
  const std::string adapter_dir = data + "/jobs/" + id + "/adapter";
  EXPECT_EQ(chat(client, name, "the sea 2"), answer_with_adapter(adapter_dir, "the sea 2"));
}

TEST(ServerJobs, CancelStopsAJob) {
  test::RunningServer server(test::tiny_server_options(test::scratch_dir("serve_cancel")));
  auto client = server.client();
  const std::string train = test::upload(client, test::chat_jsonl(40))["id"];
  const json created = post(client, "/v1/fine_tuning/jobs",
                            {{"model", "tiny"}, {"training_file", train},
                             {"hyperparameters", {{"n_epochs", 100}, {"sequence_len", 32}}}});
  const std::string id = created["id"];
  const json cancelled = post(client, "/v1/fine_tuning/jobs/" + id + "/cancel", json::object());
  EXPECT_EQ(cancelled["id"], id);
  EXPECT_EQ(test::wait_for_job(client, id)["status"], "cancelled");
  EXPECT_EQ(client.Post("/v1/fine_tuning/jobs/" + id + "/cancel", "{}", "application/json")->status, 400);
  EXPECT_EQ(client.Get("/v1/fine_tuning/jobs/ftjob-none")->status, 404);
}

TEST(ServerJobs, ARestartedServerResumesTheJob) {
  const std::string data = test::scratch_dir("serve_restart");
  std::string id;
  {
    test::RunningServer server(test::tiny_server_options(data));
    auto client = server.client();
    const std::string train = test::upload(client, test::chat_jsonl(10))["id"];
    id = post(client, "/v1/fine_tuning/jobs",
              {{"model", "tiny"}, {"training_file", train},
               {"hyperparameters",
                {{"n_epochs", 20}, {"learning_rate", 1e-2}, {"save_steps", 5}, {"sequence_len", 32}}}})["id"];
    // Stop once the job has a checkpoint.
    for (int i = 0; i < 3000; ++i) {
      if (!test::body_json(client.Get("/v1/fine_tuning/jobs/" + id + "/checkpoints"))["data"].empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  test::RunningServer server(test::tiny_server_options(data));
  auto client = server.client();
  const json job = test::wait_for_job(client, id);
  EXPECT_EQ(job["status"], "succeeded") << job.dump();
  bool resumed = false;
  for (const json& e : all_events(client, id))
    resumed |= e["message"].get<std::string>().find("resumed") != std::string::npos;
  EXPECT_TRUE(resumed);
  // The resumed job's model gives the tuned answer ("the tin N in the sea": the
  // tiny model learns the words, not always the number), which the base does not.
  const std::string tuned = chat(client, job["fine_tuned_model"], "the sea 1");
  EXPECT_TRUE(tuned.starts_with("the tin ")) << tuned;
  EXPECT_EQ(tuned, answer_with_adapter(data + "/jobs/" + id + "/adapter", "the sea 1"));
  const std::string base = chat(client, "tiny", "the sea 1");
  EXPECT_FALSE(base.starts_with("the tin")) << base;
}

TEST(ServerAdapters, CreateTrainInlineAndComplete) {
  test::RunningServer server(test::tiny_server_options(test::scratch_dir("serve_adapter_flow")));
  auto client = server.client();
  EXPECT_EQ(post(client, "/v1/adapters", {{"name", "sea-bot"}})["status"], "untrained");
  EXPECT_EQ(client.Post("/v1/adapters", json{{"name", "tiny"}}.dump(), "application/json")->status, 400);
  json samples = json::array();
  for (int i = 0; i < 6; ++i)
    samples.push_back({{"messages", {{{"role", "user"}, {"content", "ping " + std::to_string(i)}},
                                     {{"role", "assistant"}, {"content", "pong"}}}}});
  for (int round = 0; round < 2; ++round) {
    const json job = post(client, "/v1/adapters/sea-bot/fine_tune",
                          {{"samples", samples}, {"n_epochs", 10},
                           {"hyperparameters", {{"learning_rate", 1e-2}, {"save_steps", 1}}}});
    ASSERT_EQ(job["object"], "fine_tuning.job") << job.dump();
    ASSERT_EQ(test::wait_for_job(client, job["id"])["status"], "succeeded");
    // The job's model and checkpoints carry the adapter's own name.
    const std::string id = job["id"];
    EXPECT_EQ(test::body_json(client.Get("/v1/fine_tuning/jobs/" + id))["fine_tuned_model"], "sea-bot");
    const json checkpoints = test::body_json(client.Get("/v1/fine_tuning/jobs/" + id + "/checkpoints"));
    ASSERT_FALSE(checkpoints["data"].empty()) << checkpoints.dump();
    EXPECT_TRUE(
        checkpoints["data"][0]["fine_tuned_model_checkpoint"].get<std::string>().starts_with("sea-bot:ckpt-step-"));
    EXPECT_EQ(test::body_json(client.Get("/v1/adapters"))["data"][0]["status"], "ready");
    const std::string tuned = chat(client, "sea-bot", "ping 1");
    EXPECT_TRUE(tuned.starts_with("pong")) << "round " << round << ": " << tuned;
  }
  EXPECT_FALSE(chat(client, "tiny", "ping 1").starts_with("pong")) << "the base must not know the answer";
  EXPECT_EQ(client.Post("/v1/adapters/nobody/fine_tune", json{{"samples", samples}}.dump(), "application/json")->status,
            404);
  EXPECT_TRUE(test::body_json(client.Delete("/v1/adapters/sea-bot"))["deleted"]);
  EXPECT_EQ(client.Post("/v1/chat/completions",
                        json{{"model", "sea-bot"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}.dump(),
                        "application/json")->status, 404);
}

// Two adapters taught different answers to the same question ("the sea N" is
// "the tin N in the sea" to one, "the oak N in the sea" to the other), served by
// one server at once: each answers with its own thing (the tiny model learns the
// words, not always the number), asked in turn and in flight together.
TEST(ServerAdapters, TwoAdaptersServedAtOnceEachAnswerTheirOwn) {
  const std::string data = test::scratch_dir("serve_two_adapters");
  test::RunningServer server(test::tiny_server_options(data));
  auto client = server.client();
  struct Tuned {
    std::string thing, job, model, dir;
  };
  std::vector<Tuned> tuned = {{"tin"}, {"oak"}};
  for (Tuned& t : tuned) {
    const std::string train = test::upload(client, test::chat_jsonl(5, t.thing))["id"];
    t.job = post(client, "/v1/fine_tuning/jobs",
                 {{"model", "tiny"}, {"training_file", train}, {"suffix", t.thing},
                  {"hyperparameters", {{"n_epochs", 10}, {"learning_rate", 1e-2}, {"sequence_len", 32}}}})["id"];
  }
  for (Tuned& t : tuned) {
    const json job = test::wait_for_job(client, t.job);
    ASSERT_EQ(job["status"], "succeeded") << job.dump();
    t.model = job["fine_tuned_model"];
    t.dir = data + "/jobs/" + t.job + "/adapter";
  }
  std::vector<std::string> answers;
  for (const Tuned& t : tuned) {
    answers.push_back(chat(client, t.model, "the sea 3"));
    EXPECT_TRUE(answers.back().starts_with("the " + t.thing + " ")) << t.model << ": " << answers.back();
    EXPECT_EQ(answers.back(), answer_with_adapter(t.dir, "the sea 3"));
  }
  EXPECT_NE(answers[0], answers[1]);
  const std::string base = chat(client, "tiny", "the sea 3");
  for (const Tuned& t : tuned) EXPECT_FALSE(base.starts_with("the " + t.thing)) << base;
  std::vector<std::string> together(tuned.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < tuned.size(); ++i)
    clients.emplace_back([&, i] {
      auto own = server.client();
      together[i] = chat(own, tuned[i].model, "the sea 2");
    });
  for (std::thread& c : clients) c.join();
  for (size_t i = 0; i < tuned.size(); ++i)
    EXPECT_TRUE(together[i].starts_with("the " + tuned[i].thing + " ")) << tuned[i].model << ": " << together[i];
}

TEST(ServerAdapters, LoadByPathOnlyInsideAllowedRoots) {
  const std::string data = test::scratch_dir("serve_adapter_load");
  // An adapter to load: trained by a job on a first server.
  std::string adapter_dir;
  {
    test::RunningServer trainer(test::tiny_server_options(data + "/trainer"));
    auto client = trainer.client();
    const std::string train = test::upload(client, test::chat_jsonl(8))["id"];
    const json job = test::wait_for_job(
        client, post(client, "/v1/fine_tuning/jobs",
                     {{"model", "tiny"}, {"training_file", train}, {"hyperparameters", {{"n_epochs", 1}}}})["id"]);
    adapter_dir = data + "/trainer/jobs/" + job["id"].get<std::string>() + "/adapter";
  }
  auto options = test::tiny_server_options(data + "/server");
  options.adapter_roots = {data + "/trainer/jobs"};
  test::RunningServer server(options);
  auto client = server.client();
  auto outside = client.Post("/v1/load_lora_adapter",
                             json{{"lora_name", "x"}, {"lora_path", data + "/trainer/jobs/../../elsewhere"}}.dump(),
                             "application/json");
  EXPECT_EQ(outside->status, 403) << outside->body;
  auto loaded = client.Post("/v1/load_lora_adapter", json{{"lora_name", "mine"}, {"lora_path", adapter_dir}}.dump(),
                            "application/json");
  ASSERT_EQ(loaded->status, 200) << loaded->body;
  EXPECT_EQ(chat(client, "mine", "the sea 3"), answer_with_adapter(adapter_dir, "the sea 3"));
  EXPECT_EQ(client.Post("/v1/unload_lora_adapter", json{{"lora_name", "mine"}}.dump(), "application/json")->status, 200);
  EXPECT_EQ(client.Get("/v1/models/mine")->status, 404);
}

}  // namespace
}  // namespace whet
