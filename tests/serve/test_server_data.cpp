// /v1/data/pipelines over HTTP: a real `whet data prepare` run into the data
// folder is listed with its manifest's counts, its manifest comes with the
// account of every record from trace.jsonl, its report.html is returned as
// written, an uploaded copy of its train.jsonl finds it by hash, and paths
// outside the data folder (by .., by an absolute path, by a symbolic link) are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "prepare/pipeline_test_support.h"
#include "io/json_fields.h"
#include "prepare/pipeline.h"
#include "server_fixture.h"

namespace whet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Six lines: one exact duplicate and one without a completion, so two are dropped.
std::string prepare_tickets(const std::string& data) {
  const std::string raw = data + "/raw";
  fs::create_directories(raw);
  std::ofstream(raw + "/tickets.jsonl") << R"({"prompt": "Refund for order 1?", "completion": "Yes, within 30 days."}
{"prompt": "Where is order 2?", "completion": "It ships tomorrow."}
{"prompt": "Refund for order 1?", "completion": "Yes, within 30 days."}
{"prompt": "Cancel order 3", "completion": "Cancelled."}
{"prompt": "Change address for order 4", "completion": "Done, the new address is set."}
{"prompt": "No answer here"}
)";
  const PipelineResult result = run_pipeline(
      test::config_in(raw, "output_dir: ../prepared/tickets\nsources:\n  - path: tickets.jsonl\n"), {});
  return result.output_dir;
}

TEST(ServerData, ListsPipelineOutputsWithTheirManifestTraceAndReport) {
  const std::string data = test::scratch_dir("server_data");
  const std::string out = prepare_tickets(data);
  ASSERT_TRUE(fs::exists(out + "/report.html"));
  serve::ServerOptions options = test::tiny_server_options(data);
  options.api_keys = {"k"};
  test::RunningServer server(options);
  auto client = server.client("k");
  EXPECT_EQ(server.client().Get("/v1/data/pipelines")->status, 401);
  EXPECT_EQ(server.client().Get("/v1/data/pipelines/report?path=prepared/tickets")->status, 401);

  const json manifest = read_json_object(out + "/manifest.json");
  const json list = test::get_json(client, "/v1/data/pipelines");
  ASSERT_EQ(list["data"].size(), 1u) << list;
  const json& entry = list["data"][0];
  EXPECT_EQ(entry["path"], "prepared/tickets");
  EXPECT_EQ(entry["records_in"], 6);
  EXPECT_EQ(entry["records_in"], manifest["stages"][0]["in"]);
  EXPECT_EQ(entry["records_out"], test::read_lines(out + "/train.jsonl").size());
  EXPECT_EQ(entry["outputs"], manifest["outputs"]);
  EXPECT_EQ(entry["stages"].size(), manifest["stages"].size());
  int64_t dropped = 0;
  for (const json& stage : entry["stages"]) dropped += stage["dropped"].get<int64_t>();
  EXPECT_EQ(dropped, 2) << entry;
  EXPECT_TRUE(entry["has_report"].get<bool>());

  // The account of every record: six lines in, four kept for training, two dropped with their stage and reason.
  const json one = test::get_json(client, "/v1/data/pipelines/manifest?path=prepared/tickets");
  EXPECT_EQ(one["manifest"], manifest);
  EXPECT_EQ(one["trace"]["records"], 6);
  EXPECT_EQ(one["trace"]["fates"], json({{"dropped", 2}, {"train", 4}})) << one["trace"];
  EXPECT_EQ(one["trace"]["bad_lines"], 0);
  EXPECT_EQ(one["trace"]["dropped"].size(), 2u) << one["trace"];  // the duplicate and the line without an answer
  EXPECT_EQ(one["trace"]["dropped"].value("dedup", 0), 1) << one["trace"];

  auto report = client.Get("/v1/data/pipelines/report?path=prepared/tickets");
  ASSERT_EQ(report->status, 200);
  EXPECT_EQ(report->body, test::read_all(out + "/report.html"));
  EXPECT_EQ(report->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(report->get_header_value("Content-Security-Policy").find("sandbox"), std::string::npos);

  // An upload of the pipeline's train.jsonl is traced back to it; another file to none.
  const std::string copy = test::upload(client, test::read_all(out + "/train.jsonl"))["id"];
  const std::string other = test::upload(client, test::chat_jsonl(4))["id"];
  EXPECT_EQ(test::get_json(client, "/v1/data/pipelines?file=" + copy)["data"].size(), 1u);
  EXPECT_EQ(test::get_json(client, "/v1/data/pipelines?file=" + other)["data"].size(), 0u);
  test::expect_api_error(test::get_json(client, "/v1/data/pipelines?file=file-nope", 404), "file", "file_not_found");
}

TEST(ServerData, RefusesPathsOutsideTheDataFolderAndFoldersThatAreNotPipelines) {
  const std::string dir = test::scratch_dir("server_data_hostile");
  const std::string data = dir + "/data";
  prepare_tickets(data);
  // A pipeline folder outside the data folder, and a link to it from inside.
  const std::string outside = prepare_tickets(dir + "/elsewhere");
  fs::create_directory_symlink(outside, data + "/link");
  test::RunningServer server(test::tiny_server_options(data));
  auto client = server.client();

  const json list = test::get_json(client, "/v1/data/pipelines");
  ASSERT_EQ(list["data"].size(), 1u) << "the link is not followed: " << list;
  for (const std::string route : {"manifest", "report"}) {
    const std::string base = "/v1/data/pipelines/" + route;
    for (const std::string& path : std::vector<std::string>{"..%2Felsewhere%2Fprepared%2Ftickets",
                                                            "prepared%2F..%2F..%2Felsewhere%2Fprepared%2Ftickets", "link",
                                                            "%2Fetc", ".", outside})
      test::expect_api_error(test::get_json(client, base + "?path=" + path, 403), "path", "path_not_allowed");
    test::expect_api_error(test::get_json(client, base + "?path=raw", 404), "path", "pipeline_not_found");
    test::expect_api_error(test::get_json(client, base + "?path=prepared%2Fnone", 404), "path", "pipeline_not_found");
    test::expect_api_error(test::get_json(client, base, 400), "path", "");
  }
  fs::remove(data + "/prepared/tickets/report.html");
  test::expect_api_error(test::get_json(client, "/v1/data/pipelines/report?path=prepared/tickets", 404), "path", "report_not_found");
}

}  // namespace
}  // namespace whet
