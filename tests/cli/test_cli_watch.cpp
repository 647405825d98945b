// whet watch from the command line: the loop's file checked before anything
// runs, one cycle with --once, and the promoted version served by its
// models:/ name to the next command.
#include <gtest/gtest.h>

#include <fstream>

#include "../loop/tiny_loop.h"
#include "run_whet.h"

namespace whet {
namespace {

using test::run_whet;

TEST(CliWatch, ABadLoopFileIsRefusedNamingTheFileLineAndKey) {
  const std::string dir = test::scratch_dir("cli_watch_bad");
  std::ofstream(dir + "/loop.yaml") << "name: t\nincoming: in\ntrain: t.yaml\ntask: t.jsonl\nmin_new_record: 3\n";
  const test::RunResult r = run_whet("watch " + dir + "/loop.yaml --data-dir " + dir + "/data --once");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(dir + "/loop.yaml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'min_new_records'"), std::string::npos) << r.err;
  const test::RunResult none = run_whet("watch --once");
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("whet watch PIPELINE.yaml"), std::string::npos) << none.err;
}

TEST(CliWatch, OnceRunsACycleAndThePromotedVersionIsServedByItsName) {
  test::TinyLoop loop("cli_watch_once");
  test::write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  const std::string data = " --data-dir " + loop.data_dir;
  const test::RunResult r = run_whet("watch " + loop.dir + "/loop.yaml --once" + data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cycle 1: PROMOTED version 1: better than the base model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 cycle(s) decided"), std::string::npos) << r.err;
  const test::RunResult again = run_whet("watch " + loop.dir + "/loop.yaml --once" + data);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("nothing due"), std::string::npos) << again.err;

  const test::RunResult shown = run_whet("registry show oceans" + data);
  EXPECT_NE(shown.out.find("champion"), std::string::npos) << shown.out;
  // The champion answers held-out items of the rule the way the challenger learnt it.
  for (const auto& [prompt, label] : {std::pair{"the ocean 107 is", "tin"}, std::pair{"the desert 107 is", "cup"}}) {
    const test::RunResult answer = test::run_whet_command(
        "WHET_DATA_DIR=" + loop.data_dir + " " + test::whet_path() +
        " generate models:/oceans@champion --raw --temperature 0 --max-tokens 4 --prompt '" + prompt + "'");
    ASSERT_EQ(answer.exit_code, 0) << answer.err;
    EXPECT_EQ(answer.out.substr(0, 4), std::string(" ") + label) << answer.out;
  }
}

}  // namespace
}  // namespace whet
