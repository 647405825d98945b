// `whet runs` as a user runs it: list, show, compare and add over a data
// folder, in text and --json, and the errors a wrong name gets.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "run_folders.h"
#include "track/run_folder.h"

namespace whet {
namespace {

using nlohmann::json;

class CliRuns : public testing::Test {
 protected:
  void SetUp() override {
    data_ = test::this_test_scratch("cli_runs_");
    const std::string a = test::hand_run(data_ + "/runs/alpha", "method: lora\nlora_r: 8\nlearning_rate: 0.001\n");
    const std::string b = test::hand_run(data_ + "/runs/beta", "method: lora\nlora_r: 16\nlearning_rate: 0.001\n");
    test::append(a + "/metrics.jsonl", test::step_line(1, 2.0) + "{\"step\": 1, \"val_loss\": 1.875}\n");
    test::append(b + "/metrics.jsonl", test::step_line(1, 1.5) + test::step_line(2, 1.25) + "not json\n");
  }
  test::RunResult runs(const std::string& args) { return test::run_whet("runs " + args + " --data-dir " + data_); }
  std::string data_;
};

TEST_F(CliRuns, ListsEveryRunWithItsBestMetric) {
  const test::RunResult r = runs("list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("val_loss 1.875"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("beta"), std::string::npos) << r.out;
  // The corrupt line of beta is named on stderr.
  EXPECT_NE(r.err.find("beta/metrics.jsonl:3] not JSON"), std::string::npos) << r.err;

  const test::RunResult listed = runs("list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json list = json::parse(listed.out);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  for (const json& run : list["data"]) {
    EXPECT_EQ(run["object"], "run");
    EXPECT_EQ(run["bad_lines"], run["name"] == "beta" ? 1 : 0);
  }
}

TEST_F(CliRuns, ShowsOneRunByNameOrId) {
  const test::RunResult r = runs("show beta");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"Params", "lora_r", "16", "Lineage", "Best", "Last", "Artefacts", "metrics.jsonl:3] not JSON"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  const std::string id = track::path_run_id(data_ + "/runs/beta");
  const test::RunResult by_id = runs("show " + id + " --json");
  ASSERT_EQ(by_id.exit_code, 0) << by_id.err;
  const json run = json::parse(by_id.out);
  EXPECT_EQ(run["name"], "beta");
  EXPECT_EQ(run["last"]["loss"], 1.25);
  EXPECT_EQ(run["steps"], 2);

  const test::RunResult missing = runs("show gamma");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no run 'gamma'"), std::string::npos) << missing.err;
}

TEST_F(CliRuns, ComparesTheKeysThatDiffer) {
  const test::RunResult r = runs("compare alpha beta");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("lora_r"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("learning_rate"), std::string::npos) << r.out;  // the same in both
  const json comparison = json::parse(runs("compare alpha beta --json").out);
  EXPECT_EQ(comparison["differing_params"].size(), 1u);
  EXPECT_EQ(comparison["metrics"]["loss"][track::path_run_id(data_ + "/runs/beta")]["best"], 1.25);
  EXPECT_NE(runs("compare alpha").exit_code, 0);  // one run is too few
}

TEST_F(CliRuns, AddsAFolderFromElsewhereAndHasHelp) {
  const std::string outside = test::hand_run(test::this_test_scratch("cli_runs_outside_") + "/old", "method: full\n");
  const test::RunResult added = runs("add " + outside);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_NE(runs("list").out.find("old"), std::string::npos);
  const test::RunResult bad = runs("add " + data_ + "/nowhere");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not a folder"), std::string::npos) << bad.err;
  const test::RunResult help = test::run_whet("runs --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* part : {"list", "show", "compare", "add", "export-tensorboard"})
    EXPECT_NE(help.out.find(part), std::string::npos) << part;
  EXPECT_NE(test::run_whet("runs list --help").out.find("--data-dir"), std::string::npos);
  const test::RunResult typo = test::run_whet("runs list --data-dir " + data_ + "/typo");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("no such data folder"), std::string::npos) << typo.err;
  EXPECT_FALSE(std::filesystem::exists(data_ + "/typo"));
}

}  // namespace
}  // namespace whet
