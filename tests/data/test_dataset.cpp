// The whole pipeline on real files: every line accounted for (strict and
// lenient), BOM and CRLF, hostile lines, deterministic shuffle and validation
// split with no example on both sides.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/dataset.h"
#include "data/jsonl_reader.h"
#include "data_test_support.h"

namespace whet {
namespace {

using test::expect_error;
using test::tiny_tokenizer;
using test::write_file;

const ChatTemplate kChatML = ChatTemplate::by_name("chatml");

constexpr std::string_view kChat =
    R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})";

Dataset load(const std::string& train, const DataOptions& options = {}, const std::string& validation = "",
             const ChatTemplate& chat_template = kChatML) {
  return load_dataset({train}, validation.empty() ? std::vector<std::string>{} : std::vector<std::string>{validation},
                      tiny_tokenizer(), chat_template, options);
}

// The text of each example in the sequences (its input tokens, i.e. all but the last one).
std::multiset<std::string> example_texts(const std::vector<TrainingSequence>& sequences) {
  std::multiset<std::string> texts;
  for (const TrainingSequence& s : sequences)
    for (size_t i = 0; i < s.ids.size();) {
      size_t end = i + 1;
      while (end < s.ids.size() && s.segment_begin[end] == s.segment_begin[i]) ++end;
      texts.insert(tiny_tokenizer().decode(std::vector<int32_t>(s.ids.begin() + i, s.ids.begin() + end)));
      i = end;
    }
  return texts;
}

std::string numbered_texts(const std::string& word, int count) {
  std::string file;
  for (int i = 0; i < count; ++i) file += R"({"text": ")" + word + " " + std::to_string(i) + "\"}\n";
  return file;
}

// Lines 3.. are malformed in different ways; lines 2 and 10 are blank.
std::string malformed_file() {
  const std::vector<std::string> lines = {
      std::string(kChat),
      "",
      R"({"messages": [{"role": "user", "content": "unterminated)",
      "[1, 2]",
      R"({"question": "q", "answer": "a"})",
      R"({"messages": [{"role": "bot", "content": "x"}, {"role": "assistant", "content": "y"}]})",
      R"({"messages": [{"role": "user", "content": "x"}]})",
      R"({"prompt": "p", "completion": ""})",
      R"({"text": 5})",
      " \t ",
      R"({"text": "the end"})",
      R"({"messages": []})",
      "{\"text\": \"bad \xC3\x28 byte\"}",
      std::string(100000, '['),
  };
  std::string file;
  for (const std::string& line : lines) file += line + "\n";
  return file;
}

TEST(Dataset, LenientReadingReportsEveryBadLine) {
  const std::string path = write_file(test::data_scratch(), "train.jsonl", malformed_file());
  const Dataset d = load(path);
  const DataStats& s = d.stats;
  EXPECT_EQ(s.lines, 14u);
  EXPECT_EQ(s.blank_lines, 2u);
  EXPECT_EQ(s.examples[size_t(DataFormat::Chat)], 1u);
  EXPECT_EQ(s.examples[size_t(DataFormat::Text)], 1u);
  const std::vector<std::pair<size_t, std::string>> expected = {
      {3, "invalid JSON"},          {4, "expected a JSON object"}, {5, "unknown format"},
      {6, "messages[0].role"},      {7, "no assistant message"},   {8, "completion: empty"},
      {9, "text: expected a string"}, {12, "messages: empty"},     {13, "UTF-8"},
      {14, "nested deeper"}};
  ASSERT_EQ(s.skipped.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s.skipped[i].file, path);
    EXPECT_EQ(s.skipped[i].line, expected[i].first);
    EXPECT_NE(s.skipped[i].reason.find(expected[i].second), std::string::npos) << s.skipped[i].reason;
    EXPECT_FALSE(s.skipped[i].reason.starts_with("[")) << s.skipped[i].reason;
  }
  EXPECT_EQ(s.lines, s.blank_lines + s.skipped.size() + 2);  // nothing unaccounted for
  const std::string summary = s.summary();
  for (const std::string& part : std::vector<std::string>{"14 lines read (2 blank, 10 skipped), 2 examples (1 text, 1 chat)",
                                 "Skipped " + path + ":3: invalid JSON", "And 5 more skipped lines"})
    EXPECT_NE(summary.find(part), std::string::npos) << summary;
}

TEST(Dataset, StrictReadingStopsAtTheFirstBadLine) {
  const std::string path = write_file(test::data_scratch(), "train.jsonl", malformed_file());
  DataOptions strict;
  strict.strict = true;
  expect_error([&] { load(path, strict); }, {"[" + path + ":3]", "invalid JSON"});
  // Lines the template cannot render are bad lines too.
  const std::string turns =
      write_file(test::data_scratch(), "turns.jsonl",
                 std::string(kChat) + "\n" +
                     R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, )"
                     R"({"role": "assistant", "content": "c"}]})" "\n");
  expect_error([&] { load(turns, strict, "", ChatTemplate::by_name("llama2")); }, {"[" + turns + ":2]", "alternate"});
  const Dataset lenient = load(turns, {}, "", ChatTemplate::by_name("llama2"));
  ASSERT_EQ(lenient.stats.skipped.size(), 1u);
  EXPECT_EQ(lenient.stats.skipped[0].line, 2u);
  EXPECT_EQ(lenient.stats.examples[size_t(DataFormat::Chat)], 1u);
}

TEST(Dataset, BomAndCrlfReadLikePlainLf) {
  const std::string dir = test::data_scratch();
  const std::string lines[] = {std::string(kChat), R"({"text": "the end"})", R"({"prompt": "a", "completion": "b"})"};
  const std::string lf = write_file(dir, "lf.jsonl", lines[0] + "\n" + lines[1] + "\n" + lines[2]);
  const std::string crlf =
      write_file(dir, "crlf.jsonl", "\xEF\xBB\xBF" + lines[0] + "\r\n" + lines[1] + "\r\n\r\n" + lines[2] + "\r\n");
  const Dataset a = load(lf), b = load(crlf);
  EXPECT_EQ(a.train, b.train);
  EXPECT_TRUE(b.stats.skipped.empty());
  EXPECT_EQ(b.stats.blank_lines, 1u);
  DataStats stats;
  EXPECT_EQ(read_examples(crlf, {}, stats)[2].line, 4u);
}

TEST(Dataset, MegabyteLineIsTruncated) {
  std::string text;
  while (text.size() < (1u << 20)) text += "the hello ";
  const std::string path = write_file(test::data_scratch(), "big.jsonl", R"({"text": ")" + text + "\"}\n");
  DataOptions options;
  options.sequence_len = 128;
  const Dataset d = load(path, options);
  ASSERT_EQ(d.train.size(), 1u);
  EXPECT_EQ(d.train[0].ids.size(), 128u);
  EXPECT_EQ(d.stats.train.truncated, 1u);
}

TEST(Dataset, ShuffleIsDeterministicBySeed) {
  const std::string path = write_file(test::data_scratch(), "train.jsonl", numbered_texts("doc", 40));
  DataOptions options;
  options.sequence_len = 32;
  const Dataset a = load(path, options), b = load(path, options);
  EXPECT_EQ(a.train, b.train);
  options.seed = 43;
  const Dataset c = load(path, options);
  EXPECT_NE(a.train, c.train);
  EXPECT_EQ(example_texts(a.train), example_texts(c.train));  // the same examples, in another order
  EXPECT_EQ(example_texts(a.train).size(), 40u);
}

TEST(Dataset, HeldOutValidationSharesNoExample) {
  const std::string path = write_file(test::data_scratch(), "train.jsonl", numbered_texts("doc", 50));
  DataOptions options;
  options.sequence_len = 32;
  options.val_set_size = 0.2;
  const Dataset a = load(path, options);
  const std::multiset<std::string> train = example_texts(a.train), validation = example_texts(a.validation);
  EXPECT_EQ(train.size(), 40u);
  EXPECT_EQ(validation.size(), 10u);
  for (const std::string& text : validation) EXPECT_EQ(train.count(text), 0u) << text;
  EXPECT_EQ(a.stats.validation.examples, 10u);
  EXPECT_EQ(example_texts(load(path, options).validation), validation);
  options.seed = 7;
  EXPECT_NE(example_texts(load(path, options).validation), validation);
}

TEST(Dataset, ValidationFile) {
  const std::string dir = test::data_scratch();
  const std::string train = write_file(dir, "train.jsonl", numbered_texts("doc", 5));
  const std::string validation = write_file(dir, "val.jsonl", numbered_texts("held", 3));
  const Dataset d = load(train, {}, validation);
  EXPECT_EQ(example_texts(d.validation), (std::multiset<std::string>{"held 0", "held 1", "held 2"}));
  EXPECT_EQ(example_texts(d.train).size(), 5u);
  EXPECT_EQ(d.stats.lines, 8u);
  DataOptions both;
  both.val_set_size = 0.1;
  expect_error([&] { load(train, both, validation); }, {"either a validation file or val_set_size"});
}

TEST(Dataset, SeveralTrainingFilesAreOneDataset) {
  const std::string dir = test::data_scratch();
  const std::string first = write_file(dir, "a.jsonl", numbered_texts("first", 3));
  const std::string second = write_file(dir, "b.jsonl", numbered_texts("second", 2));
  const Dataset d = load_dataset({first, second}, {}, tiny_tokenizer(), kChatML, {});
  EXPECT_EQ(example_texts(d.train),
            (std::multiset<std::string>{"first 0", "first 1", "first 2", "second 0", "second 1"}));
  EXPECT_EQ(d.stats.lines, 5u);
}

TEST(Dataset, UnreadableOrUselessFiles) {
  const std::string dir = test::data_scratch();
  expect_error([&] { load(dir + "/missing.jsonl"); }, {dir + "/missing.jsonl", "cannot open"});
  const std::string bad = write_file(dir, "bad.jsonl", "nope\n\n");
  expect_error([&] { load(bad); }, {bad, "nothing to train on", "Skipped " + bad + ":1"});
}

}  // namespace
}  // namespace whet
