// The loop's folder: the state read back as written, a corrupt state named,
// and which files in the incoming folder count as new.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "loop/incoming.h"
#include "loop/loop_state.h"
#include "test_support.h"

namespace whet::loop {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(LoopState, ReadsBackWhatWasWritten) {
  const std::string dir = test::this_test_scratch("loop_state");
  const LoopFolder folder(dir, "tickets");
  EXPECT_EQ(folder.root(), std::filesystem::absolute(dir).lexically_normal().string() + "/loops/tickets");
  EXPECT_EQ(folder.run_dir(3), folder.root() + "/cycles/0003/run");
  EXPECT_EQ(read_watch_state(folder).cycle, 0);  // none yet
  EXPECT_FALSE(read_watch_state(folder).cycle_open());

  WatchState s;
  s.cycle = 3;
  s.phase = Phase::Trained;
  s.inputs = {{1, "a.jsonl", "/x/0001-a.jsonl", 10, "xxh3:1"}, {3, "feedback", "/x/0003-feedback.jsonl", 4, "xxh3:2"}};
  s.feedback_used = 4;
  s.train_files = {"/x/0001-a.jsonl"};
  s.version = 7;
  write_watch_state(folder, s);
  const WatchState r = read_watch_state(folder);
  EXPECT_EQ(r.cycle, 3);
  EXPECT_EQ(r.phase, Phase::Trained);
  EXPECT_TRUE(r.cycle_open());
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[1].source, "feedback");
  EXPECT_EQ(r.inputs[1].records, 4);
  EXPECT_EQ(r.feedback_used, 4);
  EXPECT_EQ(r.train_files, s.train_files);
  EXPECT_EQ(r.version, 7);
}

TEST(LoopState, ACorruptStateNamesTheFileAndField) {
  const std::string dir = test::this_test_scratch("loop_state_corrupt");
  const LoopFolder folder(dir, "t");
  std::filesystem::create_directories(folder.root());
  write(folder.state_path(), R"({"cycle": 2, "phase": "baked", "inputs": []})");
  test::expect_error([&] { read_watch_state(folder); }, {folder.state_path(), "phase", "baked"});
  write(folder.state_path(), R"({"cycle": 2, "phase": "trained", "inputs": [{"cycle": 1}]})");
  test::expect_error([&] { read_watch_state(folder); }, {folder.state_path(), "inputs[0].source"});
  write(folder.state_path(), "{\"cycle\": 2,");
  test::expect_error([&] { read_watch_state(folder); }, {folder.state_path()});
}

TEST(LoopIncoming, NewMeansUnseenNameOrContentsAndNeverHalfWritten) {
  const std::string dir = test::this_test_scratch("loop_incoming");
  write(dir + "/b.jsonl", "{\"text\": \"1\"}\n\n{\"text\": \"2\"}\n");
  write(dir + "/a.jsonl", "{\"text\": \"1\"}\n");
  write(dir + "/c.jsonl.tmp", "{\"text\": \"1\"}\n");  // still being written
  write(dir + "/.d.jsonl", "{\"text\": \"1\"}\n");     // hidden
  write(dir + "/notes.txt", "not data\n");
  WatchState state;
  std::vector<NewFile> files = new_files(dir, state);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "a.jsonl");
  EXPECT_EQ(files[1].name, "b.jsonl");
  EXPECT_EQ(files[1].records, 2);  // the blank line is no record

  state.inputs.push_back({1, "a.jsonl", "", 1, files[0].hash});
  state.inputs.push_back({1, "b.jsonl", "", 2, files[1].hash});
  EXPECT_TRUE(new_files(dir, state).empty());
  write(dir + "/b.jsonl", "{\"text\": \"3\"}\n");  // rewritten: new data under an old name
  files = new_files(dir, state);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "b.jsonl");
  EXPECT_TRUE(new_files(dir + "/missing", state).empty());
  EXPECT_TRUE(new_files("", state).empty());
}

}  // namespace
}  // namespace whet::loop
