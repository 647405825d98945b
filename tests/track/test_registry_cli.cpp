// `whet registry` as a user runs it, and models:/ URIs where commands take a
// model or an adapter: a registered adapter answers as the same adapter given by path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/run_whet.h"
#include "track/registry_runs.h"

namespace whet {
namespace {

using test::run_whet;
using test::RunResult;

struct RegistryCli : ::testing::Test {
  std::string dir = test::scratch_dir(std::string("registry_cli_") +
                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string data = dir + "/data";
  RunResult registry(const std::string& args) { return run_whet("registry " + args + " --data-dir " + data); }
};

TEST_F(RegistryCli, RegisterPromoteRollbackShow) {
  const std::string other = test::rescaled_lora(dir + "/other_lora", 40.0);
  const std::string run1 = test::make_run(dir + "/run1", test::tiny_lora(), "r1");
  const std::string run2 = test::make_run(dir + "/run2", other, "r2");
  RunResult r = registry("register support --from " + run1 + " --description first");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("registered support version 1"), std::string::npos) << r.err;
  r = registry("register support --from " + run2 + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("version"), 2);
  ASSERT_EQ(registry("promote support 1").exit_code, 0);  // --alias champion by default
  r = registry("promote support 2 --alias champion --reason 'better on tickets' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json event = nlohmann::json::parse(r.out);
  EXPECT_EQ(event.at("from_version"), 1);
  EXPECT_EQ(event.at("to_version"), 2);
  EXPECT_EQ(event.at("reason"), "better on tickets");

  // Given by URI, the adapter answers as it does given by path.
  const std::string env = "WHET_DATA_DIR=" + data + " ";
  const std::string by_path = test::greedy_cli_answer(test::tiny_base() + " --adapter " + other);
  const std::string base_answer = test::greedy_cli_answer(test::tiny_base());
  const std::string first_answer = test::greedy_cli_answer(test::tiny_base() + " --adapter " + test::tiny_lora());
  ASSERT_NE(by_path, base_answer);
  ASSERT_NE(by_path, first_answer);
  r = test::run_whet_command(env + test::whet_path() + " generate --model models:/support@champion" + test::kGreedyPrompt);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, by_path);
  r = test::run_whet_command(env + test::whet_path() + " generate --adapter models:/support/2" + test::kGreedyPrompt);
  ASSERT_EQ(r.exit_code, 0) << r.err;  // the base comes from the version
  EXPECT_EQ(r.out, by_path);

  r = registry("rollback support");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rollback support@champion: version 2 -> version 1"), std::string::npos) << r.out;
  r = test::run_whet_command(env + test::whet_path() + " generate models:/support@champion" + test::kGreedyPrompt);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, first_answer);

  r = registry("show support --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json shown = nlohmann::json::parse(r.out);
  EXPECT_EQ(shown.at("object"), "registered_model");
  EXPECT_EQ(shown.at("latest_version"), 2);
  EXPECT_EQ(shown.at("aliases"), (nlohmann::json{{"champion", 1}}));
  EXPECT_EQ(shown.at("versions")[0].at("run_id"), "r1");
  EXPECT_EQ(shown.at("events").size(), 5u);
  r = registry("list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("@champion=1"), std::string::npos) << r.out;
  r = registry("alias delete support champion");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(registry("show support --json").out).at("aliases"), nlohmann::json::object());
}

TEST_F(RegistryCli, BadNamesAndUnknownThingsAreClearErrors) {
  const std::string run = test::make_run(dir + "/run", test::tiny_lora(), "r");
  ASSERT_EQ(registry("register m --from " + run).exit_code, 0);
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"register 'bad/name' --from " + run, "letters, digits"},
           {"register m --from " + dir + "/missing", "not a folder"},
           {"promote m 4", "no version 4"},
           {"promote nope 1", "registered: m"},
           {"promote m 1 --alias 12", "read as a version"},
           {"rollback m", "no change to roll back"},
           {"show nope", "no registered model 'nope'"}}) {
    const RunResult r = registry(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find(says), std::string::npos) << args << ": " << r.err;
  }
  const std::string env = "WHET_DATA_DIR=" + data + " ";
  const RunResult r =
      test::run_whet_command(env + test::whet_path() + " generate --model models:/m@champion" + test::kGreedyPrompt);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no alias 'champion'"), std::string::npos) << r.err;
  const RunResult convert = test::run_whet_command(env + test::whet_path() + " convert models:/m " + dir + "/out");
  EXPECT_EQ(convert.exit_code, 1);
  EXPECT_NE(convert.err.find("takes no adapter"), std::string::npos) << convert.err;
  for (const char* command : {"list", "show", "register", "promote", "rollback", "alias delete"}) {
    const RunResult help = run_whet(std::string("registry ") + command + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("--data-dir"), std::string::npos) << command;
  }
}

TEST_F(RegistryCli, AFailedGateIsRefusedUnlessForced) {
  ASSERT_EQ(registry("register m --from " + test::make_run(dir + "/run", test::tiny_lora(), "r", false)).exit_code, 0);
  RunResult r = registry("promote m 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("failed the forgetting gate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = registry("promote m 1 --force --reason 'known loss'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace whet
