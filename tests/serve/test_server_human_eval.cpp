// Human evaluation over HTTP on the tiny model and random adapters of it: a
// session's answers are each model's greedy answers, two raters rate every item
// blind (no model named, the order varying), the results match a hand count,
// bad requests are refused naming the field, the export writes the pairs, more
// than two models are paired evenly, and a session left generating by a stopped
// server is finished by the next one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "models/lora_peft.h"
#include "track/registry_runs.h"
#include "models/model_loader.h"
#include "serve/human_eval_export.h"
#include "serve/job_store.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;

// A LoRA adapter of the tiny model with random A and B, strong enough that its greedy answers differ from the base's.
std::string random_adapter(const std::string& name, uint64_t seed) {
  const std::string dir = test::scratch_dir("human_eval_adapter_" + name);
  const LoadedModel base = load_model(test::tiny_model_path());
  LoraConfig config;
  config.rank = 4;
  config.alpha = 8;
  LlamaLora lora = make_lora(base.model.config, config, seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  for_each_lora_tensor(lora, [&](const std::string& tensor, std::vector<float>& values, int64_t, int64_t) {
    if (tensor.ends_with("lora_B.weight"))
      for (float& v : values) v = uniform(rng);
  });
  save_peft_adapter(lora, base.model.config, dir, test::tiny_model_path());
  return dir;
}

// Six chat prompts as a generation task file (the answers are the task's, unused here).
void write_task(const std::string& path, int prompts = 6) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path);
  for (int i = 0; i < prompts; ++i)
    out << json{{"messages", {{{"role", "user"}, {"content", "the sea " + std::to_string(i)}}}},
                {"answer", "the tin " + std::to_string(i)}}
               .dump()
        << "\n";
}

class ServerHumanEval : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    tuned_dir = new std::string(random_adapter("tuned", 1));
    other_dir = new std::string(random_adapter("other", 2));
  }
  static void TearDownTestSuite() {
    delete tuned_dir;
    delete other_dir;
  }
  serve::ServerOptions options(const std::string& data) {
    serve::ServerOptions o = test::tiny_server_options(data);
    o.adapters = {"tuned=" + *tuned_dir, "other=" + *other_dir};
    return o;
  }
  static std::string* tuned_dir;
  static std::string* other_dir;
};
std::string* ServerHumanEval::tuned_dir = nullptr;
std::string* ServerHumanEval::other_dir = nullptr;

json post(httplib::Client& client, const std::string& path, const json& body, int expected_status = 200) {
  auto r = client.Post(path, body.dump(), "application/json");
  EXPECT_TRUE(r);
  if (!r) return nullptr;
  EXPECT_EQ(r->status, expected_status) << path << " " << body.dump() << " -> " << r->body;
  return json::parse(r->body, nullptr, false);
}

json wait_until_ready(httplib::Client& client, const std::string& id) {
  json s;
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
       std::chrono::steady_clock::now() < deadline;) {
    s = test::get_json(client, "/v1/human_eval/sessions/" + id);
    if (s["status"] != "generating") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(s["status"], "ready") << s;
  return s;
}

// The greedy answer /v1/chat/completions gives: what the session must have stored.
std::string chat(httplib::Client& client, const std::string& model, const std::string& prompt, int max_tokens) {
  const json r = post(client, "/v1/chat/completions",
                      {{"model", model}, {"messages", {{{"role", "user"}, {"content", prompt}}}},
                       {"max_tokens", max_tokens}, {"temperature", 0}});
  return r["choices"][0]["message"]["content"];
}

// What a rater does on item n (1-based), in the pair's terms: the model to prefer, "tie" or "both_bad".
//   ann: tuned on 1–4, tie on 5, both bad on 6.   bob: tuned on 1, 2, 6; tiny on 3, 4; tie on 5.
std::string verdict(const std::string& rater, int n) {
  if (n == 5) return "tie";
  if (rater == "ann") return n == 6 ? "both_bad" : "tuned";
  return n == 3 || n == 4 ? "tiny" : "tuned";
}

TEST_F(ServerHumanEval, TwoRatersRateASessionBlindAndTheResultsMatchAHandCount) {
  const std::string data = test::scratch_dir("serve_human_eval");
  write_task(data + "/tasks/six.jsonl");
  test::RunningServer server(options(data));
  auto client = server.client();

  const json created = post(client, "/v1/human_eval/sessions",
                            {{"name", "six"}, {"task", "tasks/six.jsonl"}, {"models", {"tiny", "tuned"}},
                             {"max_tokens", 8}, {"seed", 5}});
  const std::string id = created["id"];
  EXPECT_EQ(created["prompts"], 6);
  EXPECT_EQ(created["items"], 6);
  EXPECT_EQ(created["progress"]["answers_total"], 12);
  const json ready = wait_until_ready(client, id);
  EXPECT_EQ(ready["progress"]["answers"], 12);
  EXPECT_EQ(test::get_json(client, "/v1/human_eval/sessions")["data"][0]["id"], id);

  // Each prompt's two answers, by model, as the models answer them directly.
  std::vector<std::map<std::string, std::string>> expected(6);
  for (int i = 0; i < 6; ++i) {
    for (const char* model : {"tiny", "tuned"}) expected[i][model] = chat(client, model, "the sea " + std::to_string(i), 8);
    ASSERT_NE(expected[i]["tiny"], expected[i]["tuned"]) << "the adapter must change the answer of prompt " << i;
  }

  // A rater asking twice without rating sees the same item the same way.
  const std::string next_ann = "/v1/human_eval/sessions/" + id + "/next?rater=ann";
  EXPECT_EQ(client.Get(next_ann)->body, client.Get(next_ann)->body);

  std::set<bool> tiny_first_seen;  // whether the base was shown as A, over every (item, rater)
  for (const std::string rater : {"ann", "bob"}) {
    for (int n = 1;; ++n) {
      auto response = client.Get("/v1/human_eval/sessions/" + id + "/next?rater=" + rater);
      ASSERT_EQ(response->status, 200) << response->body;
      json item = json::parse(response->body);
      if (item["done"] == true) {
        EXPECT_EQ(n, 7);
        EXPECT_EQ(item["rated"], 6);
        EXPECT_TRUE(item["item_id"].is_null());
        break;
      }
      // Blind: the fields are these and no more, and nothing outside the answers' texts names a model.
      EXPECT_EQ(item["item_id"], "item-" + std::to_string(n));
      const int prompt = n - 1;
      EXPECT_EQ(item["prompt"], json({{{"role", "user"}, {"content", "the sea " + std::to_string(prompt)}}}));
      ASSERT_EQ(item["answers"].size(), 2u);
      EXPECT_EQ(item["answers"][0].size(), 2u);
      EXPECT_EQ(item["answers"][0]["slot"], "A");
      EXPECT_EQ(item["answers"][1]["slot"], "B");
      const std::string a = item["answers"][0]["text"], b = item["answers"][1]["text"];
      json outside = item;
      outside.erase("answers");
      outside.erase("prompt");
      for (const char* model : {"tiny", "tuned"})
        EXPECT_EQ(outside.dump().find(model), std::string::npos) << outside.dump();
      EXPECT_EQ(outside.size(), 7u) << outside.dump();  // object, session_id, rater, rated, total, item_id, done
      const bool tiny_first = a == expected[prompt]["tiny"];
      EXPECT_EQ(tiny_first ? b : a, expected[prompt]["tuned"]);
      EXPECT_EQ(tiny_first ? a : b, expected[prompt]["tiny"]);
      tiny_first_seen.insert(tiny_first);

      const std::string v = verdict(rater, n);
      std::string choice = v == "tie" || v == "both_bad" ? v : ((v == "tiny") == tiny_first ? "A" : "B");
      if (rater == "ann" && n == 6) {
        // First a slip, then the answer meant: the second replaces the first.
        EXPECT_EQ(post(client, "/v1/human_eval/sessions/" + id + "/ratings",
                       {{"item_id", item["item_id"]}, {"rater", rater}, {"choice", "A"}})["replaced"],
                  false);
      }
      const json rated = post(client, "/v1/human_eval/sessions/" + id + "/ratings",
                              {{"item_id", item["item_id"]}, {"rater", rater}, {"choice", choice},
                               {"comment", "rated by the test"}});
      EXPECT_EQ(rated["replaced"], rater == "ann" && n == 6);
    }
  }
  EXPECT_EQ(tiny_first_seen.size(), 2u) << "the base model was always on the same side";

  // Hand count, in the pair (tiny, tuned):
  //   tiny wins: bob 3, 4 → 2; tuned wins: ann 1–4, bob 1, 2, 6 → 7; ties 2 (item 5); both bad 1 (ann 6).
  //   win rate of tiny = (2 + 2/2) / 11 = 3/11.
  //   Bradley–Terry: tiny 2 + 1 = 3 wins, tuned 7 + 1 = 8: scores √(3/8), √(8/3).
  //   κ, categories (tiny, tuned, tie, both bad): ann (1,1,1,1,2,3), bob (1,1,0,0,2,1): p_o = 3/6;
  //   ann's shares tuned 4/6, tie 1/6, both bad 1/6; bob's tiny 2/6, tuned 3/6, tie 1/6;
  //   p_e = (4/6)(3/6) + (1/6)(1/6) = 13/36; κ = (18/36 − 13/36) / (23/36) = 5/23.
  const json results = test::get_json(client, "/v1/human_eval/sessions/" + id + "/results");
  ASSERT_EQ(results["pairs"].size(), 1u) << results;
  const json& pair = results["pairs"][0];
  EXPECT_EQ(pair["models"], json({"tiny", "tuned"}));
  EXPECT_EQ(pair["wins"], json({2, 7}));
  EXPECT_EQ(pair["ties"], 2);
  EXPECT_EQ(pair["both_bad"], 1);
  EXPECT_EQ(pair["rated_items"], 6);
  EXPECT_NEAR(pair["win_rate"].get<double>(), 3.0 / 11, 1e-12);
  EXPECT_LT(pair["interval"][0].get<double>(), 3.0 / 11);
  EXPECT_GT(pair["interval"][1].get<double>(), 3.0 / 11);
  EXPECT_EQ(results, test::get_json(client, "/v1/human_eval/sessions/" + id + "/results"));  // the bootstrap is seeded
  EXPECT_EQ(results["bradley_terry"]["comparisons"], 11);
  EXPECT_NEAR(results["bradley_terry"]["models"][0]["score"].get<double>(), std::sqrt(3.0 / 8), 1e-9);
  EXPECT_NEAR(results["bradley_terry"]["models"][1]["score"].get<double>(), std::sqrt(8.0 / 3), 1e-9);
  const json& agreement = results["agreement"]["pairs"][0];
  EXPECT_EQ(agreement["raters"], json({"ann", "bob"}));
  EXPECT_EQ(agreement["shared_items"], 6);
  EXPECT_NEAR(agreement["kappa"].get<double>(), 5.0 / 23, 1e-12);

  // The export: every A/B rating a pair (ann 4, bob 5), ties and both bad counted.
  const std::string out = data + "/rated.jsonl";
  const serve::FeedbackDataset d = serve::export_human_eval(data, id, out);
  EXPECT_EQ(d.written, (serve::Tally{{"ratings that chose A or B", 9}}));
  ASSERT_EQ(d.skipped.size(), 2u);
  EXPECT_EQ(d.skipped[0].second, 2);  // ties
  EXPECT_EQ(d.skipped[1].second, 1);  // both bad
  std::ifstream in(out);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 9u);
  // The first is ann's on item 1: tuned preferred.
  EXPECT_EQ(lines[0]["input"]["messages"][0]["content"], "the sea 0");
  EXPECT_EQ(lines[0]["preferred_output"][0]["content"], expected[0]["tuned"]);
  EXPECT_EQ(lines[0]["non_preferred_output"][0]["content"], expected[0]["tiny"]);

  // The HTTP export is the same file, from the same function.
  auto exported = client.Get("/v1/human_eval/sessions/" + id + "/export");
  ASSERT_EQ(exported->status, 200) << exported->body;
  std::ifstream written(out);
  EXPECT_EQ(exported->body, std::string(std::istreambuf_iterator<char>(written), {}));
  EXPECT_EQ(exported->get_header_value("X-Whet-Pairs"), "9");
  EXPECT_EQ(exported->get_header_value("X-Whet-Skipped"), "3");
  EXPECT_EQ(client.Get("/v1/human_eval/sessions/" + id + "/export?format=preference")->body, exported->body);
}

TEST_F(ServerHumanEval, BadRequestsNameTheField) {
  const std::string data = test::scratch_dir("serve_human_eval_errors");
  write_task(data + "/tasks/six.jsonl", 2);
  {
    std::ofstream bad(data + "/tasks/bad.jsonl");
    bad << R"({"messages": [{"role": "user", "content": "hi"}]})" << "\n" << R"({"text": "no prompt"})" << "\n";
  }
  test::RunningServer server(options(data));
  auto client = server.client();
  const json base = {{"task", "tasks/six.jsonl"}, {"models", {"tiny", "tuned"}}, {"max_tokens", 4}};
  json body = base;
  body["models"] = {"tiny", "nobody"};
  test::expect_api_error(post(client, "/v1/human_eval/sessions", body, 404), "models[1]", "model_not_found");
  body = base;
  body["task"] = "../outside.jsonl";
  test::expect_api_error(post(client, "/v1/human_eval/sessions", body, 403), "task", "path_not_allowed");
  body["task"] = "tasks/missing.jsonl";
  test::expect_api_error(post(client, "/v1/human_eval/sessions", body, 404), "task", "task_not_found");
  body["task"] = "file-0000";
  test::expect_api_error(post(client, "/v1/human_eval/sessions", body, 404), "task", "file_not_found");
  body["task"] = "tasks/bad.jsonl";
  const json bad_task = post(client, "/v1/human_eval/sessions", body, 400);
  test::expect_api_error(bad_task, "task", "invalid_task");
  EXPECT_NE(bad_task["error"]["message"].get<std::string>().find("tasks/bad.jsonl:2"), std::string::npos) << bad_task;

  const std::string id = post(client, "/v1/human_eval/sessions", base)["id"];
  wait_until_ready(client, id);
  const std::string session = "/v1/human_eval/sessions/" + id;
  const json item = test::get_json(client, session + "/next?rater=ann");
  test::expect_api_error(post(client, session + "/ratings", {{"item_id", item["item_id"]}, {"rater", "ann"}, {"choice", "C"}}, 400),
               "choice", "");
  test::expect_api_error(post(client, session + "/ratings", {{"item_id", "item-99"}, {"rater", "ann"}, {"choice", "A"}}, 404),
               "item_id", "item_not_found");
  test::expect_api_error(post(client, session + "/ratings", {{"item_id", item["item_id"]}, {"rater", "cy"}, {"choice", "A"}}, 400),
               "item_id", "item_not_shown");
  test::expect_api_error(test::get_json(client, session + "/next", 400), "rater", "");
  test::expect_api_error(test::get_json(client, "/v1/human_eval/sessions/heval-nope/next?rater=ann", 404), "session_id", "session_not_found");
  test::expect_api_error(post(client, "/v1/human_eval/sessions/heval-nope/ratings",
                    {{"item_id", "item-1"}, {"rater", "ann"}, {"choice", "A"}}, 404),
               "session_id", "session_not_found");
  test::expect_api_error(test::get_json(client, "/v1/human_eval/sessions/heval-nope/results", 404), "session_id", "session_not_found");

  // The export: an unknown session, a format other than preference pairs, a session still generating.
  test::expect_api_error(test::get_json(client, "/v1/human_eval/sessions/heval-nope/export", 404), "session_id", "session_not_found");
  test::expect_api_error(test::get_json(client, session + "/export?format=kto", 400), "format", "unsupported_format");
  test::expect_api_error(test::get_json(client, session + "/export?format=../../etc/passwd", 400), "format", "unsupported_format");
  {
    // A session stored behind the running server's back is never queued: it stays generating.
    serve::JobStore store(data + "/whet.sqlite");
    serve::HumanEvalSession s;
    s.task = "tasks/six.jsonl";
    s.models = {"tiny", "tuned"};
    const std::vector<serve::HumanEvalPrompt> prompts = {{0, 1, "the sea"}};
    const std::string busy = store.create_human_eval_session(s, prompts, serve::plan_items(1, s.models, 0)).id;
    test::expect_api_error(test::get_json(client, "/v1/human_eval/sessions/" + busy + "/export", 409), "session_id", "session_not_ready");
  }
  // Without a key, when keys are required, the export is refused as every route is.
  serve::ServerOptions keyed = options(test::scratch_dir("serve_human_eval_errors_keyed"));
  keyed.api_keys = {"k"};
  test::RunningServer locked(keyed);
  EXPECT_EQ(locked.client().Get(session + "/export")->status, 401);
}

// models:/NAME@ALIAS names a registered version, resolved as /v1/chat/completions
// resolves it, and pinned: a session keeps the version the alias named when it
// was created, so a promotion meanwhile does not change whose answers are rated.
TEST_F(ServerHumanEval, RegistryUrisAreResolvedAndPinnedToTheirVersion) {
  const std::string dir = test::scratch_dir("serve_human_eval_registry");
  const std::string data = dir + "/data";
  write_task(data + "/tasks/three.jsonl", 3);
  test::make_run(data + "/runs/one", test::tiny_lora(), "run-one");
  test::make_run(data + "/runs/two", test::rescaled_lora(dir + "/louder", 40.0), "run-two");
  test::RunningServer server(options(data));
  auto client = server.client();
  post(client, "/v1/registry/models/x/versions", {{"source", "runs/one"}});
  post(client, "/v1/registry/models/x/versions", {{"source", "runs/two"}});
  post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", 1}});

  const json created = post(client, "/v1/human_eval/sessions",
                            {{"task", "tasks/three.jsonl"}, {"models", {"tiny", "models:/x@champion"}}, {"max_tokens", 6}});
  EXPECT_EQ(created["models"], json({"tiny", "models:/x/1"}));
  post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", 2}});
  const std::string id = created["id"];
  wait_until_ready(client, id);
  std::set<std::string> version_one, version_two;
  for (int i = 0; i < 3; ++i) {
    version_one.insert(chat(client, "models:/x/1", "the sea " + std::to_string(i), 6));
    version_two.insert(chat(client, "models:/x@champion", "the sea " + std::to_string(i), 6));
  }
  ASSERT_NE(version_one, version_two) << "the two versions must answer differently for the test to tell them apart";
  std::set<std::string> shown;
  for (json item; (item = test::get_json(client, "/v1/human_eval/sessions/" + id + "/next?rater=ann"))["done"] == false;) {
    for (const json& answer : item["answers"]) shown.insert(answer["text"].get<std::string>());
    post(client, "/v1/human_eval/sessions/" + id + "/ratings", {{"item_id", item["item_id"]}, {"rater", "ann"}, {"choice", "tie"}});
  }
  for (const std::string& text : version_one) EXPECT_TRUE(shown.contains(text)) << "version 1's answer " << text;

  // Refusals name the field: an unknown alias, and two names of one version.
  test::expect_api_error(post(client, "/v1/human_eval/sessions",
                    {{"task", "tasks/three.jsonl"}, {"models", {"tiny", "models:/x@nobody"}}}, 404),
               "models[1]", "model_not_found");
  test::expect_api_error(post(client, "/v1/human_eval/sessions",
                    {{"task", "tasks/three.jsonl"}, {"models", {"models:/x@champion", "models:/x/2"}}}, 400),
               "models[1]", "same_model");
}

// Three models over six prompts: three pairs, two items each; results for each
// pair and Bradley–Terry scores for all three. The session is stored as a stopped
// server would leave it (generating, one answer made), and the next server finishes it.
TEST_F(ServerHumanEval, ThreeModelsArePairedEvenlyAndAStoppedSessionIsFinished) {
  const std::string data = test::scratch_dir("serve_human_eval_three");
  std::filesystem::create_directories(data);
  std::string id;
  {
    serve::JobStore store(data + "/whet.sqlite");
    serve::HumanEvalSession s;
    s.name = "three";
    s.task = "tasks/six.jsonl";
    s.models = {"tiny", "tuned", "other"};
    s.max_tokens = 6;
    s.seed = 3;
    std::vector<serve::HumanEvalPrompt> prompts;
    for (int i = 0; i < 6; ++i)
      prompts.push_back({i, i + 1, json::array({{{"role", "user"}, {"content", "the sea " + std::to_string(i)}}})});
    id = store.create_human_eval_session(s, prompts, serve::plan_items(6, s.models, s.seed)).id;
    store.add_human_eval_answer(id, {0, "tiny", "made before the stop", "length"});
  }
  test::RunningServer server(options(data));
  auto client = server.client();
  const json ready = wait_until_ready(client, id);
  EXPECT_EQ(ready["items"], 6);
  EXPECT_EQ(ready["progress"]["answers"], 18);

  // One rater prefers, on every item, the model that comes first in (other, tuned, tiny).
  const std::vector<std::string> rank = {"other", "tuned", "tiny"};
  std::map<std::pair<std::string, std::string>, int> pairs;
  for (;;) {
    const json item = test::get_json(client, "/v1/human_eval/sessions/" + id + "/next?rater=dee");
    if (item["done"] == true) break;
    const int prompt = std::stoi(item["prompt"][0]["content"].get<std::string>().substr(8));
    std::map<std::string, std::string> by_text;
    for (const std::string model : {"tiny", "tuned", "other"})
      by_text[prompt == 0 && model == "tiny" ? "made before the stop" : chat(client, model, "the sea " + std::to_string(prompt), 6)] = model;
    ASSERT_EQ(by_text.size(), 3u) << "three different answers to prompt " << prompt;
    const std::string a = by_text.at(item["answers"][0]["text"]), b = by_text.at(item["answers"][1]["text"]);
    ++pairs[{std::min(a, b), std::max(a, b)}];
    const bool a_better = std::find(rank.begin(), rank.end(), a) < std::find(rank.begin(), rank.end(), b);
    post(client, "/v1/human_eval/sessions/" + id + "/ratings",
         {{"item_id", item["item_id"]}, {"rater", "dee"}, {"choice", a_better ? "A" : "B"}});
  }
  ASSERT_EQ(pairs.size(), 3u);
  for (const auto& [pair, n] : pairs) EXPECT_EQ(n, 2) << pair.first << " v " << pair.second;
  const json results = test::get_json(client, "/v1/human_eval/sessions/" + id + "/results");
  ASSERT_EQ(results["pairs"].size(), 3u);
  for (const json& p : results["pairs"]) {
    EXPECT_EQ(p["items"], 2);
    // Every item went to the better-ranked model: a win rate of 0 or 1.
    const double rate = p["win_rate"];
    EXPECT_TRUE(rate == 0 || rate == 1) << p;
  }
  // A strict order in every comparison: the first ranked never lost, so no finite scores, and the reason says so.
  EXPECT_TRUE(results["bradley_terry"]["models"][0]["score"].is_null());
  EXPECT_NE(results["bradley_terry"]["problem"].get<std::string>().find("never"), std::string::npos) << results;
  EXPECT_TRUE(results["agreement"]["pairs"].empty());
}

}  // namespace
}  // namespace whet
