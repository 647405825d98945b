// Records between the stages: the store's byte form round-trips every field,
// the spool's keys and signatures match the records, ledgers of batches add
// up, and a pipeline of several batches finds duplicates across them and keeps
// the batch order it promises.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/parallel_for.h"
#include "core/spill_file.h"
#include "prepare/dedup.h"
#include "prepare/minhash.h"
#include "prepare/pipeline.h"
#include "prepare/spool.h"
#include "pipeline_test_support.h"

namespace whet {
namespace {

Record every_field() {
  Record r = test::record_from(
      R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \u00e9"},)"
      R"( {"role": "assistant", "content": "Hello", "weight": 0}, {"role": "assistant", "content": "Bye"}]})",
      7, "chat.jsonl");
  r.label = "greeting";
  r.source = 2, r.group = 3, r.tokens = 41;
  r.augmented = r.train_only = true;
  r.chunk_id = "docs/a.md#2";
  r.pseudo_label_confidence = 0.8125;
  r.marks = {"normalize: NFC", "pii: email"};
  r.example.text = std::string("nul \0 inside", 12);
  return r;
}

void expect_same(const Record& a, const Record& b) {
  EXPECT_EQ(a.example.format, b.example.format);
  EXPECT_EQ(a.example.where(), b.example.where());
  EXPECT_EQ(a.example.text, b.example.text);
  EXPECT_EQ(a.example.prompt, b.example.prompt);
  EXPECT_EQ(a.example.completion, b.example.completion);
  ASSERT_EQ(a.example.messages.size(), b.example.messages.size());
  for (size_t i = 0; i < a.example.messages.size(); ++i) {
    EXPECT_EQ(a.example.messages[i].role, b.example.messages[i].role);
    EXPECT_EQ(a.example.messages[i].content, b.example.messages[i].content);
  }
  EXPECT_EQ(a.example.untrained, b.example.untrained);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(std::tie(a.source, a.id, a.group, a.tokens, a.augmented, a.train_only),
            std::tie(b.source, b.id, b.group, b.tokens, b.augmented, b.train_only));
  EXPECT_EQ(a.chunk_id, b.chunk_id);
  EXPECT_EQ(a.pseudo_label_confidence, b.pseudo_label_confidence);
  EXPECT_EQ(a.marks, b.marks);
}

TEST(DataPipelineSpool, RecordsRoundTripThroughTheStore) {
  const Record r = every_field();
  ASSERT_EQ(r.example.untrained.size(), 1u);
  expect_same(decode_record(encode_record(r)), r);
  expect_same(decode_record(encode_record(Record{})), Record{});

  RecordStore store(test::data_scratch());
  std::vector<Record> records;
  for (size_t i = 0; i < 300; ++i) records.push_back(test::completion(std::string(i * 7, 'x'), std::to_string(i), i));
  records.push_back(r);
  for (const Record& record : records) store.append(record);
  ASSERT_EQ(store.size(), records.size());
  // Read back out of order and from several threads at once.
  std::vector<std::thread> readers;
  for (size_t t = 0; t < 3; ++t)
    readers.emplace_back([&, t] {
      for (size_t i = records.size(); i-- > 0;)
        if (i % 3 == t) expect_same(store.read(i), records[i]);
    });
  for (std::thread& reader : readers) reader.join();
}

TEST(DataPipelineSpool, ScratchFilesLeaveNothingBehindAndNameTheirFolder) {
  const std::string dir = test::data_scratch();
  {
    SpillFile file(dir);
    EXPECT_EQ(file.append("abc"), 0u);
    EXPECT_EQ(file.append("defg"), 3u);
    char out[4];
    file.read(3, out, 4);
    EXPECT_EQ(std::string(out, 4), "defg");
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  test::expect_error([&] { SpillFile missing(dir + "/absent"); }, {dir + "/absent", "scratch file"});
}

TEST(DataPipelineSpool, KeysAndSignaturesMatchTheRecords) {
  DedupConfig dedup;
  Spool spool(test::data_scratch(), dedup, 9, "label");
  Record labelled = test::record_from(R"({"prompt": "Is it good?", "completion": "Yes."})", 4, "a.jsonl");
  labelled.label = "yes";
  Record other = test::completion("Completely different words here", "z", 5);
  other.train_only = true;
  spool.add({labelled});
  spool.add({other});
  const std::vector<RecordKey> keys = spool.take_keys();
  ASSERT_EQ(keys.size(), 2u);
  const RecordKey& a = keys[0];
  const RecordKey& b = keys[1];
  EXPECT_EQ(a.label, "yes");
  EXPECT_EQ(spool.where(a), "a.jsonl:5");
  EXPECT_EQ(spool.where(b), "t.jsonl:6");
  EXPECT_TRUE(b.train_only);
  EXPECT_EQ(b.stored, 1u);
  EXPECT_EQ(a.text_bytes, record_text(labelled).size());
  const std::vector<uint32_t> expected = text_signature(record_text(other), dedup, 9);
  EXPECT_EQ(spool.signature(b), expected);
  const std::vector<uint64_t> bands = lsh_band_keys(expected, dedup.bands);
  EXPECT_TRUE(std::equal(bands.begin(), bands.end(), spool.band_keys(b).begin(), spool.band_keys(b).end()));
  expect_same(spool.read(b), other);
}

TEST(DataPipelineSpool, BatchLedgersAddUpInStageOrder) {
  Ledger whole;
  whole.begin("read", 5);
  whole.reject("f:9", "invalid JSON", "bad");
  whole.end(5);
  // Batch by batch, each dropping some records at filter and one at pii.
  auto batch = [](size_t first_id, size_t in, size_t dropped) {
    Ledger part;
    part.begin("filter", in);
    for (size_t id = first_id; id < first_id + dropped; ++id) part.drop(id, "f:" + std::to_string(id), {"too short", ""});
    part.current().counts["seen"] = in;
    part.end(in - dropped);
    part.begin("pii", in - dropped);
    part.drop(first_id + in - 1, "f:" + std::to_string(first_id + in - 1), {"personal data", "email"});
    part.end(in - dropped - 1);
    return part;
  };
  whole.absorb(batch(0, 3, 1));
  whole.absorb(batch(3, 3, 2));
  ASSERT_EQ(whole.stages().size(), 3u);
  const StageReport& filter = whole.stages()[1];
  EXPECT_EQ(filter.stage, "filter");
  EXPECT_EQ(filter.in, 6u);
  EXPECT_EQ(filter.out, 3u);
  EXPECT_EQ(filter.dropped.at("too short"), 3u);
  EXPECT_EQ(filter.counts.at("seen"), 6u);
  EXPECT_EQ(whole.stages()[2].in, 3u);
  EXPECT_EQ(whole.stages()[2].out, 1u);
  // Batch order interleaves the stages; ordered, they read as one pass would have.
  auto wheres = [&] {
    std::vector<std::string> out;
    for (const DroppedRecord& d : whole.dropped()) out.push_back(d.where);
    return out;
  };
  EXPECT_EQ(wheres(), (std::vector<std::string>{"f:9", "f:0", "f:2", "f:3", "f:4", "f:5"}));
  whole.order_dropped();
  EXPECT_EQ(wheres(), (std::vector<std::string>{"f:9", "f:0", "f:3", "f:4", "f:2", "f:5"}));
}

TEST(DataPipelineSpool, ParallelLoopsRethrowTheFirstError) {
  std::vector<int> done(1000);
  test::expect_error(
      [&] {
        parallel_for(done.size(), [&](size_t i) {
          if (i == 700 || i == 300) fail("item " + std::to_string(i), "broken");
          done[i] = 1;
        });
      },
      {"item 300", "broken"});
  EXPECT_EQ(done[299], 1);
}

// Enough records for three batches, with duplicates whose originals are in an
// earlier batch, and augmentation whose copies follow each batch.
TEST(DataPipelineSpool, APipelineOfSeveralBatches) {
  using json = nlohmann::json;
  const std::string dir = test::data_scratch();
  const size_t n = 2 * kPipelineBatch + 1000;
  // Twelve made-up words per record, drawn from a seeded hash: unrelated records share little.
  auto prompt = [](size_t i) {
    static const char* syllables[] = {"ka", "lo", "mi", "tu", "re", "sa", "ne", "vi", "do", "pa", "li", "go"};
    std::string out = "Record " + std::to_string(i) + ":";
    uint64_t state = i * 0x9e3779b97f4a7c15ULL + 1;
    for (int w = 0; w < 12; ++w) {
      out += ' ';
      for (int s = 0; s < 3; ++s) {
        state ^= state >> 29, state *= 0xbf58476d1ce4e5b9ULL, state ^= state >> 32;
        out += syllables[state % 12];
      }
    }
    return out;
  };
  std::string lines;
  for (size_t i = 0; i < n; ++i) {
    size_t from = i;
    std::string p;
    if (i == n - 10) from = 5;                                             // exact copy, two batches later
    if (i == n - 20) from = kPipelineBatch + 3, p = " and one more word";  // near copy, a batch later
    lines += json{{"prompt", prompt(from) + p}, {"completion", "answer " + std::to_string(from)}}.dump() + "\n";
  }
  test::write_file(dir, "big.jsonl", lines);
  const PipelineConfig config = test::config_in(
      dir, "output_dir: out\nsources:\n  - path: big.jsonl\nsplit:\n  validation: 100\n  test: 100\n"
           "augment:\n  copies: 1\n  word_dropout: 0.2\ndedup:\n  threshold: 0.8\n");
  const PipelineResult r = run_pipeline(config, {});
  const StageReport* dedup = nullptr;
  for (const StageReport& s : r.ledger.stages())
    if (s.stage == "dedup") dedup = &s;
  ASSERT_NE(dedup, nullptr);
  EXPECT_EQ(dedup->in, n);
  EXPECT_EQ(dedup->dropped.at("exact duplicate"), 1u);
  EXPECT_EQ(dedup->dropped.at("near duplicate"), 1u);
  EXPECT_EQ(r.ledger.stages()[1].stage, "normalize");
  EXPECT_EQ(r.ledger.stages()[1].in, n);

  const std::vector<std::string> train = test::read_lines(r.output_dir + "/train.jsonl");
  const size_t originals = n - 2 - 200;
  ASSERT_EQ(train.size(), 2 * originals);
  // The first batch of originals, then their copies, then the next batch.
  std::map<std::string, json> trace;  // output line -> its trace
  size_t dropped = 0;
  for (const std::string& line : test::read_lines(r.output_dir + "/trace.jsonl")) {
    const json t = json::parse(line);
    if (t["fate"] == "dropped") ++dropped;
    else trace[t["output"].get<std::string>()] = t;
  }
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(trace.size(), train.size() + 200);
  auto traced = [&](size_t line) { return trace.at("train.jsonl:" + std::to_string(line)); };
  EXPECT_FALSE(traced(kPipelineBatch).contains("marks"));
  EXPECT_EQ(traced(kPipelineBatch + 1)["record"], "big.jsonl:1");
  EXPECT_NE(traced(kPipelineBatch + 1)["marks"][0].get<std::string>().find("augment: word dropout copy 1 of big.jsonl:1"),
            std::string::npos);
  EXPECT_TRUE(traced(2 * kPipelineBatch).contains("marks"));      // the first batch's last copy
  EXPECT_FALSE(traced(2 * kPipelineBatch + 1).contains("marks"));  // the second batch's first original
  // Nothing of the spool stays beside the outputs.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(r.output_dir)) files += entry.is_regular_file();
  EXPECT_EQ(files, 7u);  // train, validation, test, trace, manifest, report.md, report.html
}

}  // namespace
}  // namespace whet
