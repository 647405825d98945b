// The shared YAML config reader, on a small config with every field kind, a
// nested section and a list of sections; and the two configs Whet reads today
// refusing the same mistakes alike.
#include "io/yaml_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "prepare/pipeline_config.h"
#include "test_support.h"
#include "train/train_config.h"

namespace whet {
namespace {

enum class Colour { Red, Green, Blue };
constexpr std::string_view kColours[] = {"red", "green", "blue"};

struct Inner {
  int count = 3;
  double share = 0.5;
  std::vector<std::string> tags;
};
struct Item {
  std::string name;
  bool on = false;
};
struct Toy {
  int level = 1;
  double rate = 0.1;
  bool flag = false;
  std::string label;
  Colour colour = Colour::Red;
  std::vector<std::string> files;
  Inner inner;
  std::vector<Item> items;
};

// A check within a section: tags need a count of 5 or more, wherever count is set.
void finish_inner(Inner& inner, const yaml::Scope& s) {
  if (!inner.tags.empty() && inner.count < 5) s.reject("count", "at least 5 with tags");
}

const yaml::Table<Inner> kInner(
    {
        {"count", yaml::integer(&Inner::count, {1, 10}), "how many"},
        {"share", yaml::real(&Inner::share, {0, true, 1, false}), "a share above 0"},
        {"tags", yaml::strings(&Inner::tags), "labels"},
    },
    {}, finish_inner);

const yaml::Table<Item> kItem({
    {"name", yaml::text(&Item::name), "its name", {}, true},
    {"on", yaml::boolean(&Item::on), "whether it is on"},
});

const yaml::Table<Toy> kToy(
    {
        {"level", yaml::integer(&Toy::level, {0}), "a level"},
        {"rate", yaml::real(&Toy::rate, {0, false, 1}), "below 1"},
        {"flag", yaml::boolean(&Toy::flag), "a flag"},
        {"label", yaml::text(&Toy::label), "a label"},
        {"colour", yaml::choice(&Toy::colour, kColours), "a colour"},
        {"files", yaml::strings(&Toy::files, {"path"}), "some files"},
        {"inner", yaml::section(&Toy::inner, kInner), "a section"},
        {"items", yaml::section_list(&Toy::items, kItem), "a list of sections"},
    },
    {.example = "level: 1"});

Toy read(const std::string& text) {
  Toy toy;
  yaml::Origins origins("t.yaml");
  yaml::read_document(toy, kToy, yaml::parse_document(text, "t.yaml", kToy.example), "t.yaml", origins);
  yaml::finish(toy, kToy, yaml::Scope{origins, ""});
  return toy;
}

// The whet::Error message of reading `text`, or "" when it reads.
std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_message(const std::string& text, const std::vector<std::string>& parts) {
  const std::string message = error_of(text);
  ASSERT_FALSE(message.empty()) << "read without error:\n" << text;
  for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

TEST(YamlConfig, ReadsEveryKindOfField) {
  const Toy toy = read(
      "level: +7\nrate: 2.5e-1\nflag: Yes\nlabel:\ncolour: blue\nfiles: a.txt\n"
      "inner:\n  count: 10\n  share: 1\n  tags: [x, y]\n"
      "items:\n  - name: first\n    on: true\n  - {name: second}\n");
  EXPECT_EQ(toy.level, 7);
  EXPECT_DOUBLE_EQ(toy.rate, 0.25);
  EXPECT_TRUE(toy.flag);
  EXPECT_EQ(toy.label, "");
  EXPECT_EQ(toy.colour, Colour::Blue);
  EXPECT_EQ(toy.files, std::vector<std::string>{"a.txt"});
  EXPECT_EQ(toy.inner.count, 10);
  EXPECT_DOUBLE_EQ(toy.inner.share, 1.0);
  EXPECT_EQ(toy.inner.tags, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(toy.items.size(), 2u);
  EXPECT_EQ(toy.items[0].name, "first");
  EXPECT_TRUE(toy.items[0].on);
  EXPECT_EQ(toy.items[1].name, "second");
  EXPECT_FALSE(toy.items[1].on);
  // An empty section keeps its defaults.
  EXPECT_EQ(read("inner:\n").inner.count, 3);
}

TEST(YamlConfig, UnknownKeysNameTheirDottedPathAndTheClosestKey) {
  expect_message("levl: 2\n", {"[t.yaml:1] unknown key 'levl'; did you mean 'level'?"});
  expect_message("level: 2\ninner:\n  cont: 2\n", {"[t.yaml:3] unknown key 'inner.cont'; did you mean 'inner.count'?"});
  expect_message("items:\n  - name: a\n    onn: true\n", {"[t.yaml:3] unknown key 'items[0].onn'; did you mean 'items[0].on'?"});
  expect_message("zzzzzz: 1\n", {"[t.yaml:1] unknown key 'zzzzzz' (known here: level, rate, flag, label"});
  EXPECT_EQ(error_of("zzzzzz: 1\n").find("did you mean"), std::string::npos);
}

TEST(YamlConfig, ASecondDocumentIsRefusedNotIgnored) {
  expect_message("level: 2\n---\nbogus: 1\n", {"[t.yaml:2] a second YAML document starts here"});
  expect_message("level: 2\nbogus: 1\n", {"[t.yaml:2] unknown key 'bogus'"});
  EXPECT_EQ(error_of("level: 2\n---\n"), "");  // an empty document after the marker holds nothing to lose
}

TEST(YamlConfig, LimitsAreCheckedAndShownInTheMessage) {
  expect_message("inner:\n  count: 11\n", {"[t.yaml:2] inner.count: expected integer in [1, 10], got '11'"});
  expect_message("inner:\n  count: 0\n", {"inner.count", "'0'"});
  expect_message("inner:\n  share: 0\n", {"inner.share: expected number in (0, 1], got '0'"});
  expect_message("inner:\n  share: 1.0001\n", {"inner.share"});
  expect_message("rate: 1\n", {"rate: expected number in [0, 1), got '1'"});
  expect_message("rate: .nan\n", {"rate"});
  expect_message("level: -1\n", {"level: expected integer >= 0, got '-1'"});
  expect_message("level: 99999999999\n", {"level", "99999999999"});
  expect_message("level: 1.5\n", {"level", "'1.5'"});
}

TEST(YamlConfig, WrongTypesNameWhatWasWritten) {
  expect_message("level: [1]\n", {"[t.yaml:1] level: expected integer >= 0, got a list"});
  expect_message("flag: maybe\n", {"flag: expected true or false, got 'maybe'"});
  expect_message("label: {a: 1}\n", {"label: expected string, got a mapping"});
  expect_message("level:\n", {"level", "got nothing"});
  expect_message("colour: gren\n", {"colour: expected one of red, green, blue, got 'gren'; did you mean 'green'?"});
  expect_message("files: {a: b}\n", {"files: expected path or list of paths, got a mapping"});
  expect_message("files:\n  - a\n  - ''\n", {"[t.yaml:3] files: expected path, got ''"});
  expect_message("inner: 3\n", {"inner: expected key: value lines, got '3'"});
  expect_message("items: {name: a}\n", {"items: expected list of sections, got a mapping"});
  expect_message("items:\n  - just a word\n", {"[t.yaml:2] items[0]: expected key: value lines, got 'just a word'"});
}

TEST(YamlConfig, RequiredKeysAndChecksWithinASection) {
  expect_message("items:\n  - name: a\n  - on: true\n", {"[t.yaml:3] items[1].name: required but not set (its name)"});
  // A check on a key that was not written points at its section.
  expect_message("level: 1\ninner:\n  tags: [a]\n", {"[t.yaml:2] inner.count: expected at least 5 with tags, but it is not set"});
  expect_message("inner:\n  count: 4\n  tags: [a]\n", {"[t.yaml:2] inner.count: expected at least 5 with tags, got '4'"});
}

TEST(YamlConfig, DuplicateKeysAtAnyDepth) {
  expect_message("level: 1\nlevel: 2\n", {"[t.yaml:2] duplicate key 'level' (first set on line 1)"});
  expect_message("inner:\n  count: 1\n  count: 2\n", {"[t.yaml:3] duplicate key 'inner.count' (first set on line 2)"});
  expect_message("? [a]\n: 1\n", {"keys are plain names, got a list"});
}

TEST(YamlConfig, EmptyFilesAndOtherTopLevels) {
  for (const char* text : {"", "\n", "# nothing\n", "~\n"}) {
    expect_message(text, {"[t.yaml] holds no settings; expected key: value lines such as 'level: 1'"});
  }
  expect_message("- level: 1\n- rate: 0\n", {"[t.yaml:1] expected key: value lines at the top level, got a list"});
  expect_message("words\n", {"top level, got 'words'"});
  expect_message("level: [1\n", {"t.yaml", "not valid YAML"});
}

TEST(YamlConfig, HostileInputIsACleanError) {
  expect_message("inner: " + std::string(100000, '[') + std::string(100000, ']') + "\n", {"t.yaml"});
  std::string block;
  for (int depth = 0; depth < 3000; ++depth) block += std::string(depth, ' ') + "inner:\n";
  expect_message(block, {"t.yaml"});
  const std::string dir = test::this_test_scratch("yaml_config_");
  std::ofstream(dir + "/big.yaml") << "label: " << std::string(yaml::kMaxConfigBytes, 'x') << "\n";
  try {
    yaml::read_config_file(dir + "/big.yaml");
    ADD_FAILURE() << "a file over the size limit was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is larger than 1048576 bytes"), std::string::npos) << e.what();
  }
  const std::string long_key(1000, 'k');
  const std::string message = error_of("inner:\n  " + long_key + ": 1\n");
  EXPECT_NE(message.find("[t.yaml:2] unknown key 'inner.kkkk"), std::string::npos) << message;
  EXPECT_LT(message.size(), 300u);
}

TEST(YamlConfig, OverridesNameTheFlag) {
  Toy toy;
  yaml::Origins origins("--set");
  yaml::read_override(toy, kToy, "level=5", origins);
  yaml::read_override(toy, kToy, "files=[a, b]", origins);
  EXPECT_EQ(toy.level, 5);
  EXPECT_EQ(toy.files, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(origins.where("level"), "--set level");
  test::expect_error([&] { yaml::read_override(toy, kToy, "levl=5", origins); },
                     {"[--set levl] unknown key 'levl'; did you mean 'level'?"});
  test::expect_error([&] { yaml::read_override(toy, kToy, "rate=2", origins); },
                     {"[--set rate] rate: expected number in [0, 1), got '2'"});
}

// --- Every config Whet reads refuses the same mistakes alike ---

std::string train_error(const std::string& text) {
  const std::string path = test::this_test_scratch("yaml_config_") + "/train.yaml";
  std::ofstream(path, std::ios::binary) << text;
  try {
    load_train_config(path, {});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string pipeline_error(const std::string& text) {
  try {
    parse_pipeline_config(text, "p.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(YamlConfig, BothConfigsRefuseAnUnknownKeyWithOrWithoutASecondDocument) {
  const std::string train = "output_dir: o\ntrain_data: t\n";
  const std::string pipeline = "sources:\n  - path: a.jsonl\n";
  EXPECT_NE(train_error(train + "frobnicate: 1\n").find("train.yaml:3] unknown key 'frobnicate'"), std::string::npos);
  EXPECT_NE(pipeline_error(pipeline + "frobnicate: 1\n").find("[p.yaml:3] unknown key 'frobnicate'"), std::string::npos);
  EXPECT_NE(train_error(train + "---\nfrobnicate: 1\n").find("train.yaml:3] a second YAML document"), std::string::npos)
      << train_error(train + "---\nfrobnicate: 1\n");
  EXPECT_NE(pipeline_error(pipeline + "---\nfrobnicate: 1\n").find("[p.yaml:3] a second YAML document"),
            std::string::npos)
      << pipeline_error(pipeline + "---\nfrobnicate: 1\n");
}

TEST(YamlConfig, BothConfigsSuggestWithTheSameWordsAndPaths) {
  EXPECT_NE(train_error("output_dir: o\ntrain_data: t\nlora_rr: 4\n").find("unknown key 'lora_rr'; did you mean 'lora_r'?"),
            std::string::npos);
  EXPECT_NE(pipeline_error("sources:\n  - path: a.jsonl\n    wieght: 2\n")
                .find("[p.yaml:3] unknown key 'sources[0].wieght'; did you mean 'sources[0].weight'?"),
            std::string::npos);
  EXPECT_NE(train_error("output_dir: o\ntrain_data: t\nlora_r: 0\n").find("lora_r: expected integer >= 1, got '0'"),
            std::string::npos);
  EXPECT_NE(pipeline_error("sources:\n  - path: a.jsonl\ndedup:\n  shingle: 0\n")
                .find("[p.yaml:4] dedup.shingle: expected integer in [1, 64], got '0'"),
            std::string::npos);
}

}  // namespace
}  // namespace whet
