// GET /v1/loops over HTTP: a loop whet watch ran on the tiny model, listed
// with its newest decision; one loop with every cycle's evidence; an unknown
// name (or a path out of the folder) a 404 in OpenAI's error shape; keys
// required; the challenger's run in /v1/runs.
#include <gtest/gtest.h>

#include "../loop/tiny_loop.h"
#include "server_fixture.h"

namespace whet {
namespace {

using nlohmann::json;
using test::body_json;

TEST(ServerLoops, ListsALoopAndShowsItsCyclesDecisionsAndEvidence) {
  test::TinyLoop loop("server_loops");
  test::write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  ASSERT_EQ(loop.run().cycles_decided, 1) << loop.transcript();

  serve::ServerOptions options = test::tiny_server_options(loop.data_dir);
  options.api_keys = {"sk-test"};
  test::RunningServer server(options);
  httplib::Client client = server.client("sk-test");
  const json list = body_json(client.Get("/v1/loops"));
  ASSERT_EQ(list["data"].size(), 1u) << list.dump(2);
  EXPECT_EQ(list["data"][0]["name"], "oceans");
  EXPECT_EQ(list["data"][0]["phase"], "decided");
  EXPECT_EQ(list["data"][0]["last_decision"]["decision"], "promoted");

  const json one = body_json(client.Get("/v1/loops/oceans"));
  ASSERT_EQ(one["cycles"].size(), 1u) << one.dump(2);
  EXPECT_EQ(one["cycles"][0]["evaluation"]["comparison"]["metric"], "accuracy");
  EXPECT_TRUE(one["cycles"][0]["evaluation"]["verdict"]["promote"].get<bool>());

  for (const char* path : {"/v1/loops/nope", "/v1/loops/..", "/v1/loops/%2E%2E"}) {
    const httplib::Result missing = client.Get(path);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404) << path;
    EXPECT_EQ(body_json(missing)["error"]["code"], "loop_not_found") << path << " " << missing->body;
  }
  EXPECT_EQ(server.client().Get("/v1/loops")->status, 401);

  // The challenger's run is tracked like any other, as one whet watch started.
  json runs;
  for (int i = 0; i < 50 && body_json(client.Get("/v1/runs")).value("data", json::array()).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  runs = body_json(client.Get("/v1/runs"));
  ASSERT_EQ(runs["data"].size(), 1u) << runs.dump(2);
  EXPECT_EQ(runs["data"][0]["source"], "watch") << runs.dump(2);
}

}  // namespace
}  // namespace whet
