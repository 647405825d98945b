// whet watch from the command line: the loop's file checked before anything
// runs, one cycle with --once, and the promoted version served by its
// models:/ name to the next command.
#include <gtest/gtest.h>

#include <fstream>

#include "../loop/tiny_loop.h"
#include "run_whet.h"
#include "serve/feedback_export.h"
#include "track/registry_store.h"

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

// SIGKILL while the challenger trains, then Ctrl-C while it trains again: each
// start continues the same cycle from the newest checkpoint, and the cycle ends
// with one run, one version and one decision.
TEST(CliWatch, AKilledOrInterruptedLoopContinuesTheSameCycle) {
  test::TinyLoop loop("cli_watch_kill", {"num_epochs=200"});
  test::write_labelled(loop.dir + "/incoming/batch1.jsonl", 0, 16);
  const std::string command = test::whet_path() + " watch " + loop.dir + "/loop.yaml --once --data-dir " +
                              loop.data_dir;
  const std::string checkpoints = loop::LoopFolder(loop.data_dir, "oceans").run_dir(1) + "/checkpoints";
  // Killed as soon as a finished checkpoint exists (one still being written is
  // step-N.tmp.PID): no chance to write anything on the way out.
  const std::string newest = "$(ls " + checkpoints + " 2>/dev/null | grep -v tmp | sort -t- -k2 -n | tail -1)";
  const test::RunResult killed = test::run_whet_command(
      "(" + command + " & pid=$!; while [ -z \"" + newest + "\" ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done; "
      "kill -9 $pid; wait $pid)");
  EXPECT_EQ(killed.exit_code, 137) << killed.err;
  ASSERT_TRUE(std::filesystem::exists(checkpoints));
  EXPECT_EQ(loop::read_watch_state(loop::LoopFolder(loop.data_dir, "oceans")).phase, loop::Phase::Prepared);

  // Ctrl-C once the resumed run has written a checkpoint of its own (the newest step changed).
  const test::RunResult interrupted = test::run_whet_command(
      "(" + command + " & pid=$!; first=" + newest + "; while [ \"" + newest + "\" = \"$first\" ] && kill -0 $pid "
      "2>/dev/null; do sleep 0.02; done; kill -INT $pid; wait $pid)");
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted.err;
  EXPECT_NE(interrupted.err.find("cycle 1: continuing after 'prepared'"), std::string::npos) << interrupted.err;
  EXPECT_NE(interrupted.err.find("(resuming)"), std::string::npos) << interrupted.err;

  const test::RunResult finished = test::run_whet_command(command);
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_NE(finished.err.find("(resuming)"), std::string::npos) << finished.err;
  EXPECT_NE(finished.err.find("cycle 1: PROMOTED version 1"), std::string::npos) << finished.err;
  track::RegistryStore registry(loop.data_dir);
  EXPECT_EQ(registry.get_model("oceans").versions.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(loop::LoopFolder(loop.data_dir, "oceans").cycle_dir(2)));
}

// Feedback given to a server (kept in DATA/whet.sqlite) starts a cycle once the
// usable records pass feedback_threshold; they are exported as whet feedback
// export writes them and trained on with the config's method (KTO here).
TEST(CliWatch, FeedbackInTheServersStoreStartsACycle) {
  test::TinyLoop loop("cli_watch_feedback", {"rl=kto"}, "feedback_threshold: 4\nfeedback_format: kto\n");
  const std::string command = "watch " + loop.dir + "/loop.yaml --once --data-dir " + loop.data_dir;
  const test::RunResult no_store = run_whet(command);  // no server has run here yet: no feedback
  ASSERT_EQ(no_store.exit_code, 0) << no_store.err;
  EXPECT_NE(no_store.err.find("nothing due"), std::string::npos) << no_store.err;

  std::vector<serve::Feedback> given;
  for (const char* rating : {"up", "down", "up", "down", "up"}) {
    serve::Feedback f;
    f.kind = "rating";
    f.completions = {serve::StoredCompletion{"chatcmpl-" + std::to_string(given.size()), 0, "tiny",
                                             nlohmann::json::array({{{"role", "user"}, {"content", "the sea"}}}),
                                             "the tin in the sea", 100}};
    f.rating = rating;
    given.push_back(f);
  }
  {
    serve::JobStore store(loop.data_dir + "/whet.sqlite");
    for (size_t i = 0; i < 3; ++i) store.add_feedback(given[i]);
  }
  const test::RunResult too_few = run_whet(command);
  ASSERT_EQ(too_few.exit_code, 0) << too_few.err;
  EXPECT_NE(too_few.err.find("3 new feedback record(s)"), std::string::npos) << too_few.err;
  {
    serve::JobStore store(loop.data_dir + "/whet.sqlite");
    for (size_t i = 3; i < given.size(); ++i) store.add_feedback(given[i]);
  }
  const test::RunResult ran = run_whet(command);
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_NE(ran.err.find("cycle 1: 0 new file(s), 5 feedback record(s)"), std::string::npos) << ran.err;
  const nlohmann::json d = loop.decision(1);
  EXPECT_EQ(d["inputs"][0]["source"], "feedback");
  const serve::FeedbackDataset expected = serve::feedback_dataset(given, serve::FeedbackFormat::Kto);
  std::ifstream kept(loop.data_dir + "/loops/oceans/inputs/0001-feedback.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(kept, line);) lines.push_back(line);
  EXPECT_EQ(lines, expected.lines);
  EXPECT_NE(run_whet(command).err.find("nothing due"), std::string::npos);  // used once only
}

}  // namespace
}  // namespace whet
