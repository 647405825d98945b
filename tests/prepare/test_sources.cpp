// Sources and hostile input: every malformed line or row is rejected with its
// file and line, nothing crashes (this file also runs under AddressSanitizer),
// and good lines around bad ones are still read.
#include <gtest/gtest.h>

#include "prepare/csv_reader.h"
#include "data/line_reader.h"
#include "prepare/sources.h"
#include "prepare/text_encoding.h"
#include "prepare/validate.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

using test::write_file;

struct Read {
  std::vector<Record> records;
  std::vector<std::string> rejects;  // "where | category | reason"
};

Read read(const std::string& yaml, const std::string& dir) {
  const PipelineConfig config = parse_pipeline_config(yaml, dir + "/p.yaml");
  Read out;
  for (size_t i = 0; i < config.sources.size(); ++i)
    read_source(config, i,
                {[&](Record&& r) { out.records.push_back(std::move(r)); },
                 [&](const std::string& where, const std::string& category, const std::string& reason) {
                   out.rejects.push_back(where + " | " + category + " | " + reason);
                 }});
  return out;
}

bool has(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

TEST(DataPipelineSources, LineReaderEndingsBomAndLimit) {
  const std::string dir = test::data_scratch();
  const std::string path = write_file(dir, "a.txt", "\xEF\xBB\xBFone\r\ntwo\n" + std::string(100, 'x') + "\nlast");
  LineReader lines(path, 50);
  std::string line;
  bool too_long = false;
  std::vector<std::string> got;
  while (lines.next(line, too_long)) got.push_back(too_long ? "<too long>" : line);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "<too long>", "last"}));
  EXPECT_EQ(lines.line_number(), 4u);
}

TEST(DataPipelineSources, EncodingRules) {
  EXPECT_FALSE(invalid_utf8_at("caf\u00e9 \U0001F600"));
  EXPECT_EQ(invalid_utf8_at("ab\xe9"), 2u);
  EXPECT_EQ(invalid_utf8_at("\xc0\xaf"), 0u);        // overlong '/'
  EXPECT_EQ(invalid_utf8_at("x\xed\xa0\x80"), 1u);   // a UTF-16 surrogate
  EXPECT_EQ(latin1_to_utf8("caf\xe9"), "caf\u00e9");
  test::expect_error([] { decode_text("caf\xe9", Encoding::Utf8, "f:3"); }, {"[f:3]", "invalid UTF-8 at byte 4", "latin-1"});
  EXPECT_EQ(decode_text("caf\xe9", Encoding::Utf8OrLatin1, "f:3").text, "caf\u00e9");
  EXPECT_EQ(decode_text("caf\u00e9", Encoding::Utf8OrLatin1, "f:3").text, "caf\u00e9");  // valid lines stay
}

TEST(DataPipelineSources, HostileJsonlLinesAreRejectedWithLineNumbers) {
  const std::string dir = test::data_scratch();
  std::string bytes;
  bytes += R"({"text": "good one"})" "\n";                                // 1
  bytes += R"({"text": "truncated)" "\n";                                  // 2
  bytes += std::string(100000, '[') + "\n";                                // 3: deep nesting
  bytes += "{\"text\": \"bad \xff\xfe bytes\"}\n";                         // 4: invalid UTF-8
  bytes += R"({"text": ")" + std::string(3 << 20, 'a') + "\"}\n";          // 5: a huge field is fine
  bytes += "\n";                                                           // 6: blank
  bytes += R"({"messages": "not a list"})" "\n";                           // 7
  bytes += R"(["an", "array"])" "\n";                                      // 8
  bytes += std::string("{\"text\": \"nul\0byte\"}", 20) + "\n";           // 9: a raw NUL inside a string
  bytes += R"({"text": "last good"})";                                     // 10, no final newline
  write_file(dir, "h.jsonl", bytes);
  const Read r = read("sources:\n  - path: h.jsonl\n", dir);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].example.line, 1u);
  EXPECT_EQ(r.records[1].example.text.size(), size_t(3 << 20));
  EXPECT_EQ(r.records[2].example.line, 10u);
  EXPECT_EQ(r.rejects.size(), 6u);
  EXPECT_TRUE(has(r.rejects, "h.jsonl:2 | invalid JSON"));
  EXPECT_TRUE(has(r.rejects, "h.jsonl:3 | invalid JSON | invalid JSON: nested deeper than"));
  EXPECT_TRUE(has(r.rejects, "h.jsonl:4 | invalid UTF-8"));
  EXPECT_TRUE(has(r.rejects, "h.jsonl:7 | not a training record | messages: expected an array"));
  EXPECT_TRUE(has(r.rejects, "h.jsonl:8 | not a training record"));
  EXPECT_TRUE(has(r.rejects, "h.jsonl:9 | invalid JSON"));
}

TEST(DataPipelineSources, CsvQuotingMappingAndBadRows) {
  const std::string dir = test::data_scratch();
  write_file(dir, "d.csv",
             "q,a,topic\n"
             "\"Hi, there\",\"multi\nline \"\"answer\"\"\",greeting\n"  // 2-3
             "plain,text,x\n"                                         // 4
             "one,two\n"                                              // 5: too few fields
             "\"closed\"junk,b,c\n"                                   // 6: text after the closing quote
             "un\"quoted,b,c\n"                                       // 7: quote in an unquoted field
             "caf\xe9,ok,latin\n"                                     // 8: Latin-1, transcoded by config
             "\"never closed,b,c\nmore\n");                           // 9-10: runs to the end
  const Read r = read(
      "label_field: topic\nsources:\n  - path: d.csv\n    encoding: utf-8-or-latin-1\n"
      "    columns: {prompt: q, completion: a, topic: topic}\n",
      dir);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].example.prompt, "Hi, there");
  EXPECT_EQ(r.records[0].example.completion, "multi\nline \"answer\"");
  EXPECT_EQ(r.records[0].label, "greeting");
  EXPECT_EQ(r.records[0].example.where(), "d.csv:2");
  EXPECT_EQ(r.records[1].example.line, 4u);
  EXPECT_EQ(r.records[2].example.prompt, "caf\u00e9");
  EXPECT_EQ(r.records[2].marks, std::vector<std::string>{"read: transcoded from Latin-1"});
  EXPECT_TRUE(has(r.rejects, "d.csv:5 | wrong number of CSV fields"));
  EXPECT_TRUE(has(r.rejects, "d.csv:6 | bad CSV quoting | field 1: text after a closing quote"));
  EXPECT_TRUE(has(r.rejects, "d.csv:7 | bad CSV quoting"));
  EXPECT_TRUE(has(r.rejects, "d.csv:9 | bad CSV quoting | quoted field opened here is never closed"));
  EXPECT_EQ(r.rejects.size(), 4u);
}

TEST(DataPipelineSources, CsvWithoutAMappedColumnFailsAtTheHeader) {
  const std::string dir = test::data_scratch();
  write_file(dir, "d.tsv", "question\tanswer\nq\ta\n");
  test::expect_error([&] { read("sources:\n  - path: d.tsv\n    columns: {prompt: q, completion: answer}\n", dir); },
                     {"d.tsv:1", "columns.prompt", "no column 'q'", "question, answer"});
  const Read r = read("sources:\n  - path: d.tsv\n    columns: {user: question, assistant: answer}\n", dir);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].example.format, DataFormat::Chat);
  EXPECT_EQ(r.records[0].example.messages[1].content, "a");
}

TEST(DataPipelineSources, TextAndMarkdownFolders) {
  const std::string dir = test::data_scratch();
  std::filesystem::create_directories(dir + "/notes/sub");
  write_file(dir, "notes/b.md", "---\ntitle: x\n---\n# Heading\n\nFirst paragraph\nstill first.\n\n\nSecond.\n");
  write_file(dir, "notes/sub/a.md", "Only one.");
  write_file(dir, "notes/skip.txt", "not markdown");
  const Read files = read("sources:\n  - path: notes\n    type: markdown\n", dir);
  ASSERT_EQ(files.records.size(), 2u);
  EXPECT_EQ(files.records[0].example.where(), "notes/b.md:4");
  EXPECT_EQ(files.records[0].example.text, "# Heading\n\nFirst paragraph\nstill first.\n\n\nSecond.");
  EXPECT_EQ(files.records[1].example.where(), "notes/sub/a.md:1");
  const Read paragraphs = read("sources:\n  - path: notes\n    type: markdown\n    unit: paragraph\n", dir);
  ASSERT_EQ(paragraphs.records.size(), 4u);
  EXPECT_EQ(paragraphs.records[1].example.text, "First paragraph\nstill first.");
  EXPECT_EQ(paragraphs.records[2].example.where(), "notes/b.md:10");
  test::expect_error([&] { read("sources:\n  - path: missing\n    type: text\n", dir); }, {"missing", "no such file"});
}

TEST(DataPipelineSources, ValidateReportsEveryBadLine) {
  const std::string dir = test::data_scratch();
  const std::string path = write_file(dir, "v.jsonl", "{\"text\": \"ok\"}\n{\"prompt\": 1}\n\n{bad\n\xff\n");
  const ValidationReport report = validate_jsonl(path, DataFormat::Auto);
  EXPECT_EQ(report.lines, 5u);
  EXPECT_EQ(report.blank, 1u);
  EXPECT_EQ(report.examples[size_t(DataFormat::Text)], 1u);
  ASSERT_EQ(report.error_count, 3u);
  EXPECT_EQ(report.errors[0], "[" + path + ":2] prompt: expected a string, got number");
  EXPECT_NE(report.errors[1].find(":4] invalid JSON"), std::string::npos);
  EXPECT_NE(report.errors[2].find(":5] invalid UTF-8"), std::string::npos);
  EXPECT_EQ(validate_jsonl(path, DataFormat::Text, 1).errors.size(), 1u);  // the list is capped, the count is not
}

}  // namespace
}  // namespace whet
