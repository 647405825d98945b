// The registry over HTTP, end to end on the tiny model: two adapters that
// answer differently registered as versions 1 and 2; requests naming
// models:/x@champion follow each promotion and roll-back at once.
#include <gtest/gtest.h>

#include <filesystem>

#include "server_fixture.h"
#include "track/registry_runs.h"

namespace whet {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string chat(httplib::Client& client, const std::string& model) {
  const json body = {{"model", model},
                     {"messages", {{{"role", "user"}, {"content", "the tin in the sea"}}}},
                     {"temperature", 0},
                     {"max_tokens", 12}};
  const json answer = test::body_json(client.Post("/v1/chat/completions", body.dump(), "application/json"));
  EXPECT_TRUE(answer.contains("choices")) << answer.dump();
  return answer.contains("choices") ? answer["choices"][0]["message"]["content"].get<std::string>() : "";
}

httplib::Result post(httplib::Client& client, const std::string& path, const json& body) {
  return client.Post(path, body.dump(), "application/json");
}

TEST(ServerRegistry, PromotionChangesWhatTheNextRequestGets) {
  const std::string dir = test::scratch_dir("server_registry");
  const std::string data = dir + "/data";
  const std::string other = test::rescaled_lora(dir + "/other_lora", 40.0);
  // Run folders inside the data folder, where the server may read them.
  test::make_run(data + "/runs/one", test::tiny_lora(), "run-one");
  test::make_run(data + "/runs/two", other, "run-two");
  serve::ServerOptions options = test::tiny_server_options(data);
  options.allow_gated = false;
  options.adapters = {"one=" + test::tiny_lora(), "two=" + other};  // what each version must answer like
  options.api_keys = {"k"};
  test::RunningServer server(options);
  httplib::Client client = server.client("k");

  const std::string one = chat(client, "one"), two = chat(client, "two");
  ASSERT_NE(one, two);
  ASSERT_NE(one, chat(client, "tiny"));

  json v = test::body_json(post(client, "/v1/registry/models/x/versions", {{"source", "runs/one"}}));
  ASSERT_EQ(v.value("version", 0), 1) << v.dump();
  EXPECT_EQ(v["kind"], "adapter");
  EXPECT_EQ(v["run_id"], "run-one");
  v = test::body_json(post(client, "/v1/registry/models/x/versions",
                           {{"source", fs::absolute(data + "/runs/two").string()}, {"description", "louder"}}));
  ASSERT_EQ(v.value("version", 0), 2) << v.dump();
  // Versions are copies: the run folders can go.
  fs::remove_all(data + "/runs");

  json e = test::body_json(post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", 1}}));
  EXPECT_EQ(e["to_version"], 1) << e.dump();
  EXPECT_EQ(chat(client, "models:/x@champion"), one);
  e = test::body_json(post(client, "/v1/registry/models/x/aliases",
                           {{"alias", "champion"}, {"version", 2}, {"reason", "better"}}));
  EXPECT_EQ(e["from_version"], 1);
  EXPECT_EQ(chat(client, "models:/x@champion"), two);
  EXPECT_EQ(chat(client, "models:/x/1"), one);
  EXPECT_EQ(chat(client, "models:/x"), two);  // the latest version
  e = test::body_json(post(client, "/v1/registry/models/x/rollback", {{"alias", "champion"}}));
  EXPECT_EQ(e["action"], "rollback");
  EXPECT_EQ(e["to_version"], 1);
  EXPECT_EQ(chat(client, "models:/x@champion"), one);

  const json model = test::body_json(client.Get("/v1/registry/models/x"));
  EXPECT_EQ(model["object"], "registered_model");
  EXPECT_EQ(model["latest_version"], 2);
  EXPECT_EQ(model["aliases"], (json{{"champion", 1}}));
  EXPECT_EQ(model["versions"][1]["description"], "louder");
  ASSERT_EQ(model["events"].size(), 5u);
  EXPECT_EQ(model["events"][3]["reason"], "better");
  const json list = test::body_json(client.Get("/v1/registry/models"));
  EXPECT_EQ(list["data"].size(), 1u);
  const json models = test::body_json(client.Get("/v1/models"));
  bool listed = false;
  for (const json& m : models["data"]) listed |= m["id"] == "models:/x@champion";
  EXPECT_TRUE(listed) << models.dump();
}

TEST(ServerRegistry, ErrorsAndRefusals) {
  const std::string dir = test::scratch_dir("server_registry_errors");
  const std::string data = dir + "/data";
  test::make_run(data + "/runs/bad", test::tiny_lora(), "", false);
  test::make_run(dir + "/outside", test::tiny_lora(), "");
  serve::ServerOptions options = test::tiny_server_options(data);
  options.api_keys = {"k"};
  test::RunningServer server(options);
  httplib::Client client = server.client("k");

  EXPECT_EQ(server.client().Get("/v1/registry/models")->status, 401);  // Access::Manage
  auto r = post(client, "/v1/registry/models/x/versions", {{"source", dir + "/outside"}});
  EXPECT_EQ(r->status, 403) << r->body;
  r = post(client, "/v1/registry/models/x/versions", {{"source", "runs/missing"}});
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("not a folder"), std::string::npos) << r->body;
  ASSERT_EQ(post(client, "/v1/registry/models/x/versions", {{"source", "runs/bad"}})->status, 200);

  r = post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", 1}});
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_NE(r->body.find("gate_failed"), std::string::npos) << r->body;
  r = post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", 1}, {"force", true}});
  EXPECT_EQ(r->status, 200) << r->body;

  r = client.Get("/v1/registry/models/nope");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("registered: x"), std::string::npos) << r->body;
  const json body = {{"model", "models:/x@staging"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  r = client.Post("/v1/chat/completions", body.dump(), "application/json");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("its aliases: champion (version 1)"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("model_not_found"), std::string::npos) << r->body;
  r = post(client, "/v1/registry/models/x/aliases", {{"alias", "champion"}, {"version", "one"}});
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("'version'"), std::string::npos) << r->body;
}

// A whole model (full fine-tuning's model/) is loaded once as a base of its own.
TEST(ServerRegistry, AModelVersionIsServedAsABaseOfItsOwn) {
  const std::string dir = test::scratch_dir("server_registry_model");
  const std::string data = dir + "/data";
  fs::create_directories(data);
  fs::copy(test::tiny_base(), data + "/whole", fs::copy_options::recursive);
  test::RunningServer server(test::tiny_server_options(data));
  httplib::Client client = server.client();
  const json v = test::body_json(post(client, "/v1/registry/models/whole/versions", {{"source", "whole"}}));
  ASSERT_EQ(v.value("kind", ""), "model") << v.dump();
  EXPECT_TRUE(v["base_model"].is_null());
  ASSERT_EQ(post(client, "/v1/registry/models/whole/aliases", {{"alias", "prod"}, {"version", 1}})->status, 200);
  EXPECT_EQ(chat(client, "models:/whole@prod"), chat(client, "tiny"));
  EXPECT_EQ(chat(client, "models:/whole/1"), chat(client, "tiny"));  // the same base, loaded once
  const json models = test::body_json(client.Get("/v1/models"));
  int bases = 0;
  for (const json& m : models["data"]) bases += m["id"] == "models:/whole/1";
  EXPECT_EQ(bases, 1) << models.dump();
}

}  // namespace
}  // namespace whet
