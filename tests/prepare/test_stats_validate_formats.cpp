// `whet data stats` and `validate` on the source formats besides JSONL: the
// flags become a one-source config, rejected rows and lines keep their file and
// line, and hostile bytes are rejected, never crash (this file also runs under
// AddressSanitizer).
#include <gtest/gtest.h>

#include <filesystem>

#include "prepare/profile.h"
#include "prepare/source_spec.h"
#include "prepare/validate.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

using test::write_file;

SourceFlags flags(const std::string& path, std::vector<std::string> columns = {}) {
  SourceFlags f;
  f.path = path;
  f.columns = std::move(columns);
  return f;
}

ValidationReport validate(const SourceFlags& f) { return validate_source(single_source_config(f, "")); }

size_t count(const ValidationReport& report, DataFormat format) { return report.examples[size_t(format)]; }

TEST(DataStatsValidateFormats, CsvQuotedFieldsAndABadRow) {
  const std::string dir = test::data_scratch();
  const std::string path = write_file(dir, "qa.csv",
                                      "question,answer\n"
                                      "\"Hi, there\",\"two\nlines with \"\"quotes\"\"\"\n"  // 2-3
                                      "plain,text\n"                                      // 4
                                      "one,two,three\n"                                   // 5: too many fields
                                      "last,row\n");                                      // 6
  const ValidationReport report = validate(flags(path, {"prompt=question,completion=answer"}));
  EXPECT_EQ(count(report, DataFormat::Completion), 3u);
  ASSERT_EQ(report.error_count, 1u);
  EXPECT_EQ(report.errors[0], "[" + path + ":5] the row has 3 fields, the header has 2");

  // The same mapping given as two flags reads the same.
  EXPECT_EQ(validate(flags(path, {"prompt=question", "completion=answer"})).errors, report.errors);

  const PipelineConfig config = single_source_config(flags(path, {"prompt=question,completion=answer"}), "");
  const DataProfile profile = profile_source(config, nullptr);
  EXPECT_EQ(profile.type, SourceType::Csv);
  EXPECT_EQ(profile.records, 3u);
  EXPECT_EQ(profile.error_count, 1u);
  // "Hi, there", a newline, then "two\nlines with \"quotes\"" (23 bytes): the quoted field is read whole.
  EXPECT_EQ(profile.lengths, (std::vector<size_t>{9 + 1 + 23, 10, 8}));
}

TEST(DataStatsValidateFormats, TsvChatWithLabelBalanceFromAMappedColumn) {
  const std::string dir = test::data_scratch();
  const std::string path = write_file(dir, "chat.tsv",
                                      "ask\treply\tmood\n"
                                      "hello\thi there\tfriendly\n"
                                      "go away\tfine\tgrumpy\n"
                                      "how are you?\twell, thanks\tfriendly\n"
                                      "what?\tnothing\t\n");
  const PipelineConfig config = single_source_config(flags(path, {"user=ask,assistant=reply,mood=mood"}), "mood");
  EXPECT_EQ(config.sources[0].type, SourceType::Tsv);
  const DataProfile p = profile_source(config, nullptr);
  EXPECT_EQ(p.formats[size_t(DataFormat::Chat)], 4u);
  EXPECT_EQ(p.labels, (std::map<std::string, size_t>{{"friendly", 2}, {"grumpy", 1}, {"(none)", 1}}));
  const std::string json = profile_json(p);
  EXPECT_NE(json.find("\"type\": \"tsv\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"blank_lines\""), std::string::npos) << json;  // lines are JSONL's unit only

  // The label column is only known under the label field's name.
  test::expect_error([&] { single_source_config(flags(path, {"user=ask,mood=mood"}), ""); },
                     {"[--columns]", "unknown field 'mood'"});
}

TEST(DataStatsValidateFormats, TextFolderByFileAndByParagraph) {
  const std::string dir = test::data_scratch();
  std::filesystem::create_directories(dir + "/notes/sub");
  write_file(dir, "notes/a.txt", "First paragraph,\nstill first.\n\nSecond one.\n\n\nThird.\n");
  write_file(dir, "notes/sub/b.txt", "Only one.");
  write_file(dir, "notes/skip.md", "not text");
  SourceFlags f = flags(dir + "/notes");
  const PipelineConfig by_file = single_source_config(f, "");
  EXPECT_EQ(by_file.sources[0].type, SourceType::Text);  // a folder reads as text unless --type markdown
  EXPECT_EQ(count(validate_source(by_file), DataFormat::Text), 2u);
  f.paragraphs = true;
  const DataProfile p = profile_source(single_source_config(f, ""), nullptr);
  EXPECT_EQ(p.records, 4u);
  EXPECT_EQ(p.lengths, (std::vector<size_t>{29, 11, 6, 9}));
  EXPECT_TRUE(p.labels.empty());
  f.type = "markdown";
  EXPECT_EQ(count(validate(f), DataFormat::Text), 1u);
}

TEST(DataStatsValidateFormats, Latin1IsRejectedAsUtf8AndReadWhenAsked) {
  const std::string dir = test::data_scratch();
  const std::string path = write_file(dir, "old.csv", "text\ncaf\xe9 cr\xe8me\nplain\n");
  const ValidationReport strict = validate(flags(path, {"text=text"}));
  ASSERT_EQ(strict.error_count, 1u);
  EXPECT_NE(strict.errors[0].find("old.csv:2] invalid UTF-8 at byte 4"), std::string::npos) << strict.errors[0];
  for (const char* encoding : {"latin-1", "utf-8-or-latin-1"}) {
    SourceFlags f = flags(path, {"text=text"});
    f.encoding = encoding;
    const DataProfile p = profile_source(single_source_config(f, ""), nullptr);
    EXPECT_EQ(p.records, 2u) << encoding;
    EXPECT_EQ(p.error_count, 0u) << encoding;
    EXPECT_EQ(p.ascii_only, 1u) << encoding;
    EXPECT_EQ(p.lengths[0], std::string("caf\u00e9 cr\u00e8me").size()) << encoding;
  }
  // JSONL takes --encoding too.
  SourceFlags jsonl = flags(write_file(dir, "old.jsonl", "{\"text\": \"caf\xe9\"}\n"));
  EXPECT_EQ(validate(jsonl).error_count, 1u);
  jsonl.encoding = "latin-1";
  EXPECT_EQ(validate(jsonl).error_count, 0u);
}

TEST(DataStatsValidateFormats, HostileBytesAreRejectedWithTheirLines) {
  const std::string dir = test::data_scratch();
  std::string csv = "a,b\n";
  csv += "ok,fine\n";                                   // 2
  csv += std::string("nul\0inside,x", 12) + "\n";       // 3: a NUL is a character like any other
  csv += "bad \xff\xfe,x\n";                            // 4: invalid UTF-8
  csv += "\"truncated,x\n";                             // 5: a quote never closed takes the rest
  csv += "lost,row\n";                                  // 6
  const ValidationReport report = validate(flags(write_file(dir, "h.csv", csv), {"prompt=a,completion=b"}));
  EXPECT_EQ(count(report, DataFormat::Completion), 2u);
  ASSERT_EQ(report.error_count, 2u);
  EXPECT_NE(report.errors[0].find("h.csv:4] invalid UTF-8"), std::string::npos) << report.errors[0];
  EXPECT_NE(report.errors[1].find("h.csv:5] quoted field opened here is never closed"), std::string::npos)
      << report.errors[1];

  std::string text = "fine line\n";
  text += std::string("with a \0 NUL", 12) + "\n";
  text += "\xc0\xaf overlong\n";  // rejected alone; the paragraph keeps its other lines
  text += std::string(1000, '\xe9') + "\n";
  const std::string path = write_file(dir, "h.txt", text);
  SourceFlags f = flags(path);
  f.paragraphs = true;
  const DataProfile p = profile_source(single_source_config(f, ""), nullptr);
  EXPECT_EQ(p.records, 1u);
  ASSERT_EQ(p.error_count, 2u);
  EXPECT_EQ(p.errors[0].rfind("[" + path + ":3] invalid UTF-8 at byte 1", 0), 0u) << p.errors[0];
  EXPECT_EQ(p.errors[1].rfind("[" + path + ":4] invalid UTF-8", 0), 0u) << p.errors[1];
}

TEST(DataStatsValidateFormats, FreeTextLabelsAreBounded) {
  const std::string dir = test::data_scratch();
  std::string jsonl;
  for (size_t i = 0; i < kMaxLabels + 50; ++i)
    jsonl += fmt::format("{{\"prompt\": \"q\", \"completion\": \"answer {} {}\"}}\n", i, std::string(200, 'x'));
  const DataProfile p =
      profile_source(single_source_config(flags(write_file(dir, "gen.jsonl", jsonl)), "completion"), nullptr);
  ASSERT_EQ(p.labels.size(), kMaxLabels + 1);
  EXPECT_EQ(p.labels.at(kOtherLabels), 50u);
  for (const auto& [label, n] : p.labels) EXPECT_LE(label.size(), kMaxLabelBytes + 3);
}

TEST(DataStatsValidateFormats, FlagsThatDoNotFitAreErrorsNamingTheFileOrFlag) {
  const std::string dir = test::data_scratch();
  const std::string csv = write_file(dir, "d.csv", "q,a\nx,y\n");
  const std::string jsonl = write_file(dir, "d.jsonl", "{\"text\": \"x\"}\n");
  write_file(dir, "d.json", "{\"text\": \"x\"}\n");
  write_file(dir, "d.md", "# x\n");
  std::filesystem::create_directories(dir + "/folder");
  test::expect_error([&] { single_source_config(flags(csv, {"promt=q"}), "label"); },
                     {"[--columns]", "unknown field 'promt'", "prompt", "label: label"});
  test::expect_error([&] { single_source_config(flags(csv, {"prompt"}), ""); }, {"[--columns]", "FIELD=COLUMN"});
  test::expect_error([&] { single_source_config(flags(csv, {"prompt=q,prompt=a"}), ""); }, {"prompt is mapped twice"});
  test::expect_error([&] { single_source_config(flags(csv), ""); }, {"[" + csv + "]", "--columns", "csv"});
  test::expect_error([&] { single_source_config(flags(jsonl, {"prompt=q"}), ""); }, {"[" + jsonl + "]", "--columns"});
  test::expect_error([&] { single_source_config(flags(dir + "/missing.csv"), ""); }, {"missing.csv", "no such file"});
  test::expect_error([&] { validate(flags(csv, {"prompt=question"})); }, {"d.csv:1", "no column 'question'"});
  SourceFlags f = flags(dir + "/folder");
  f.type = "csv";
  test::expect_error([&] { single_source_config(f, ""); }, {"folder", "is a folder"});
  f = flags(csv, {"text=q"});
  f.paragraphs = true;
  test::expect_error([&] { single_source_config(f, ""); }, {"--paragraphs"});
  f = flags(csv, {"text=q"});
  f.encoding = "ascii";
  test::expect_error([&] { single_source_config(f, ""); }, {"[--encoding]", "latin-1"});
  EXPECT_EQ(single_source_config(flags(dir + "/d.json"), "").sources[0].type, SourceType::Jsonl);
  EXPECT_EQ(single_source_config(flags(dir + "/d.md"), "").sources[0].type, SourceType::Markdown);
}

}  // namespace
}  // namespace whet
