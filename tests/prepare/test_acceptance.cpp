// The acceptance test of the data pipeline: the messy fixture in
// tests/fixtures/data_pipeline goes through every stage, and the counts in the
// ledger are the ones worked out by hand below. The output must hold no
// personal data, no near-duplicate pair across splits, the leak must be found,
// the training loader must read the output without a complaint, and a rerun must
// write the same bytes.
//
// reviews.jsonl (30 lines):
//   1-13 good reviews (line 9's label "Positive" is lower-cased), 14 = 1, 15 = 2 but for spaces (equal after
//   normalisation), 16 and 17 near duplicates of 4 and 7, 18-21 personal data (e-mail and phone, IBAN, card,
//   IP address), 22 invalid JSON, 23 blank, 24 unknown format, 25 Latin-1 bytes (this source is utf-8),
//   26 a completion of spaces (empty after normalisation), 27 label "spam", 28 HTML, 29 repetitive, 30 symbols.
// extra.csv (utf-8-or-latin-1): header, 6 good rows (one spans two lines, one has doubled quotes, one is
//   Latin-1), one row with four fields, one with text after a closing quote.
// eval.jsonl: its first record is review 5 as a chat.
//
// read:      37 in (26 + 6 records, 3 + 2 rejected), 32 out.
// normalize: whitespace on 15, 26, 28; HTML on 28; label on 9.
// filter:    26 empty, 27 label, 29 repetitive (12 of 21 trigrams repeated), 30 symbols (37 of 77): 28 out.
// pii:       18, 19, 20, 21 redacted.
// dedup:     14, 15 exact; 16, 17 near: 24 out (12 positive, 8 negative, 4 neutral).
// split:     test round(0.2 * 24) = 5 and validation 5, per label by largest remainder over (negative 8,
//            neutral 4, positive 12): 2, 1, 2 each; train 14.
// leakage:   review 5 against eval.jsonl:1.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/dataset.h"
#include "prepare/minhash.h"
#include "prepare/pii.h"
#include "prepare/pipeline.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = "tests/fixtures/data_pipeline/";
const std::vector<std::string> kOutputs = {"train.jsonl", "validation.jsonl", "test.jsonl", "trace.jsonl",
                                           "manifest.json", "report.md", "report.html"};

PipelineResult run_fixture(const std::string& out, bool strict = false) {
  PipelineOptions options;
  options.output_dir = out;
  options.strict = strict;
  return run_pipeline(load_pipeline_config(test::source_path(kFixture + "pipeline.yaml")), options);
}

const StageReport& stage(const PipelineResult& r, const std::string& name) {
  for (const StageReport& s : r.ledger.stages())
    if (s.stage == name) return s;
  throw std::runtime_error("no stage " + name);
}

using Counts = std::map<std::string, size_t>;

TEST(DataPipelineAcceptance, CountsMatchTheHandComputedOnes) {
  const PipelineResult r = run_fixture(test::data_scratch());
  const StageReport& read = stage(r, "read");
  EXPECT_EQ(read.in, 37u);
  EXPECT_EQ(read.out, 32u);
  EXPECT_EQ(read.dropped, (Counts{{"bad CSV quoting", 1}, {"invalid JSON", 1}, {"invalid UTF-8", 1},
                                  {"not a training record", 1}, {"wrong number of CSV fields", 1}}));
  EXPECT_EQ(read.changed, (Counts{{"transcoded from Latin-1", 1}}));
  EXPECT_EQ(stage(r, "normalize").changed,
            (Counts{{"html stripped", 1}, {"label lowercased", 1}, {"whitespace normalized", 3}}));
  const StageReport& filter = stage(r, "filter");
  EXPECT_EQ(filter.out, 28u);
  EXPECT_EQ(filter.dropped, (Counts{{"empty or near-empty field", 1}, {"label not allowed", 1}, {"mostly symbols", 1},
                                    {"repetitive", 1}}));
  const StageReport& pii = stage(r, "pii");
  EXPECT_EQ(pii.changed, (Counts{{"redacted credit_card", 1}, {"redacted email, phone", 1}, {"redacted iban", 1},
                                 {"redacted ip_address", 1}}));
  EXPECT_EQ(pii.counts, (Counts{{"credit_card hits", 1}, {"email hits", 1}, {"iban hits", 1}, {"ip_address hits", 1},
                                {"phone hits", 1}}));
  const StageReport& dedup = stage(r, "dedup");
  EXPECT_EQ(dedup.out, 24u);
  EXPECT_EQ(dedup.dropped, (Counts{{"exact duplicate", 2}, {"near duplicate", 2}}));
  const StageReport& split = stage(r, "split");
  EXPECT_EQ(split.counts.at("train"), 14u);
  EXPECT_EQ(split.counts.at("validation"), 5u);
  EXPECT_EQ(split.counts.at("test"), 5u);
  for (const char* part : {"validation", "test"}) {
    EXPECT_EQ(split.counts.at(std::string(part) + " label negative"), 2u) << part;
    EXPECT_EQ(split.counts.at(std::string(part) + " label neutral"), 1u) << part;
    EXPECT_EQ(split.counts.at(std::string(part) + " label positive"), 2u) << part;
  }
  ASSERT_EQ(r.leaks.size(), 1u);
  EXPECT_EQ(r.leaks[0].where, "reviews.jsonl:5");
  EXPECT_EQ(r.leaks[0].against, "eval.jsonl");
  EXPECT_EQ(r.leaks[0].match, "eval.jsonl:1");
  EXPECT_DOUBLE_EQ(r.leaks[0].overlap, 1.0);
  // Which record went where and why: every line of input has a line in the trace.
  EXPECT_EQ(test::read_lines(r.output_dir + "/trace.jsonl").size(), 37u);
  const std::string report = test::read_all(r.output_dir + "/report.md");
  EXPECT_NE(report.find("## Leaks (1)"), std::string::npos);
  EXPECT_NE(report.find("| reviews.jsonl:22 | read | invalid JSON:"), std::string::npos) << report;
  EXPECT_NE(report.find("| extra.csv:9 | read | field 1: text after a closing quote"), std::string::npos) << report;
  EXPECT_NE(test::read_all(r.output_dir + "/report.html").find("<svg"), std::string::npos);
}

TEST(DataPipelineAcceptance, NoPersonalDataAndNoNearDuplicateAcrossSplits) {
  const PipelineResult r = run_fixture(test::data_scratch());
  const PiiScanner scanner{PiiConfig{}};
  for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl"}) {
    const std::string text = test::read_all(r.output_dir + "/" + file);
    for (const char* secret : {"jane.doe", "example.com", "7946", "DE89", "4111", "192.168"})
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << file;
    std::vector<size_t> hits(scanner.type_count());
    scanner.redact(text, hits);
    for (size_t t = 0; t < hits.size(); ++t) EXPECT_EQ(hits[t], 0u) << scanner.type_name(t) << " in " << file;
  }
  std::vector<std::vector<Record>> parts;
  for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl"}) {
    parts.emplace_back();
    for (const std::string& line : test::read_lines(r.output_dir + "/" + file))
      parts.back().push_back(test::record_from(line, parts.back().size(), file));
  }
  for (size_t a = 0; a < parts.size(); ++a)
    for (size_t b = a + 1; b < parts.size(); ++b)
      for (const Record& x : parts[a])
        for (const Record& y : parts[b])
          EXPECT_LT(jaccard(shingle_hashes(record_text(x), 5), shingle_hashes(record_text(y), 5)), 0.7)
              << x.example.where() << " and " << y.example.where();
}

TEST(DataPipelineAcceptance, OutputLoadsForTrainingUnchanged) {
  const PipelineResult r = run_fixture(test::data_scratch());
  DataOptions options;
  options.strict = true;  // any line the loader would skip fails the test
  options.sequence_len = 256;
  const Dataset dataset = load_dataset({r.output_dir + "/train.jsonl"}, {r.output_dir + "/validation.jsonl"},
                                       test::tiny_tokenizer(), ChatTemplate::by_name("chatml"), options);
  EXPECT_TRUE(dataset.stats.skipped.empty());
  EXPECT_EQ(dataset.stats.train.examples, 14u);
  EXPECT_EQ(dataset.stats.validation.examples, 5u);
  EXPECT_EQ(dataset.stats.examples[size_t(DataFormat::Completion)], 19u);
}

TEST(DataPipelineAcceptance, RerunWritesTheSameBytes) {
  const std::string first = test::data_scratch() + "/a", second = test::data_scratch() + "/b";
  run_fixture(first);
  run_fixture(second);
  for (const std::string& file : kOutputs) {
    const std::string a = test::read_all(first + "/" + file);
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, test::read_all(second + "/" + file)) << file;
  }
  for (const auto& entry : fs::directory_iterator(first))  // nothing half-written left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(DataPipelineAcceptance, StrictFailsOnTheFirstMalformedLine) {
  test::expect_error([] { run_fixture(test::data_scratch(), true); }, {"[reviews.jsonl:22]", "invalid JSON"});
}

TEST(DataPipelineAcceptance, StrictFailsOnALeak) {
  const std::string dir = test::data_scratch();
  for (const char* file : {"reviews.jsonl", "eval.jsonl"}) fs::copy_file(test::source_path(kFixture + file), dir + "/" + file);
  // Only the good lines, so that the leak is what fails.
  const std::vector<std::string> lines = test::read_lines(dir + "/reviews.jsonl");
  std::string good;
  for (size_t i = 0; i < 13; ++i) good += lines[i] + "\n";
  test::write_file(dir, "reviews.jsonl", good);
  test::write_file(dir, "p.yaml", "output_dir: out\nsources:\n  - path: reviews.jsonl\nleakage:\n  eval_files: [eval.jsonl]\n");
  PipelineOptions options;
  options.strict = true;
  test::expect_error([&] { run_pipeline(load_pipeline_config(dir + "/p.yaml"), options); },
                     {"[reviews.jsonl:5]", "--strict: 1 leaking record", "eval.jsonl:1"});
}

}  // namespace
}  // namespace whet
