// The loop's YAML: paths relative to the file, the defaults, and errors that
// name the file, line and key.
#include <gtest/gtest.h>

#include "loop/watch_config.h"
#include "test_support.h"

namespace whet::loop {
namespace {

TEST(WatchConfig, PathsAreTakenFromTheFilesFolderAndDefaultsHold) {
  const WatchConfig c = parse_watch_config(
      "name: tickets\nincoming: new/\ntrain: train.yaml\ntask: /abs/heldout.jsonl\ntrain_set: [num_epochs=1]\n",
      "/srv/loops/loop.yaml");
  EXPECT_EQ(c.name, "tickets");
  EXPECT_EQ(c.incoming, "/srv/loops/new/");
  EXPECT_EQ(c.train, "/srv/loops/train.yaml");
  EXPECT_EQ(c.task, "/abs/heldout.jsonl");
  EXPECT_EQ(c.prepare, "");
  EXPECT_EQ(c.train_set, std::vector<std::string>{"num_epochs=1"});
  EXPECT_EQ(c.alias, "champion");
  EXPECT_EQ(c.min_new_records, 1);
  EXPECT_DOUBLE_EQ(c.significance, 0.05);
  EXPECT_TRUE(c.bias_check);
}

TEST(WatchConfig, BadInputNamesTheFileLineAndKey) {
  test::expect_error([] { parse_watch_config("name: t\nincoming: in\ntask: t.jsonl\n", "loop.yaml"); },
                     {"loop.yaml", "train: required"});
  test::expect_error(
      [] { parse_watch_config("name: t\nincoming: in\ntrain: a.yaml\ntask: t.jsonl\nsignificanse: 0.1\n", "loop.yaml"); },
      {"loop.yaml:5", "significanse", "significance"});
  test::expect_error(
      [] { parse_watch_config("name: t\nincoming: in\ntrain: a.yaml\ntask: t.jsonl\nsignificance: 2\n", "loop.yaml"); },
      {"loop.yaml:5", "significance"});
  test::expect_error([] { parse_watch_config("name: t\ntrain: a.yaml\ntask: t.jsonl\n", "loop.yaml"); },
                     {"loop.yaml", "incoming", "nothing would start a cycle"});
  test::expect_error([] { parse_watch_config("name: a/b\nincoming: in\ntrain: a.yaml\ntask: t.jsonl\n", "loop.yaml"); },
                     {"loop.yaml:1", "name"});
  test::expect_error(
      [] { parse_watch_config("name: t\nalias: latest\nincoming: in\ntrain: a.yaml\ntask: t.jsonl\n", "loop.yaml"); },
      {"loop.yaml:2", "alias"});
  test::expect_error(
      [] {
        parse_watch_config("name: t\nfeedback_threshold: 5\nfeedback_format: sft\ntrain: a.yaml\ntask: t.jsonl\n",
                           "loop.yaml");
      },
      {"loop.yaml:3", "feedback_format", "preference"});
}

TEST(WatchConfig, HelpListsEveryGroup) {
  const std::string help = watch_config_help();
  for (const char* part : {"Model", "Trigger", "Cycle", "Gate", "min_improvement", "required"})
    EXPECT_NE(help.find(part), std::string::npos) << part;
}

}  // namespace
}  // namespace whet::loop
