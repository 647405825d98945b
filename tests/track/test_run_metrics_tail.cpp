// Following metrics.jsonl: what counts as a metrics line and what is passed
// over by name, and hostile bytes read in arbitrary pieces giving the same rows
// as one read of the whole file (also built with AddressSanitizer).
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "test_support.h"
#include "track/run_metrics_tail.h"

namespace whet {
namespace {

std::string write(const std::string& path, const std::string& text, std::ios::openmode mode = std::ios::trunc) {
  std::ofstream(path, std::ios::binary | mode) << text;
  return path;
}

TEST(MetricsTail, ReadsNumbersOfEachLineAndNamesWhatItPasses) {
  const std::string path = write(test::this_test_scratch("tail_") + "/metrics.jsonl",
                                 "{\"step\": 1, \"loss\": 2.5, \"note\": \"x\", \"nested\": {\"a\": 1}, \"gone\": null}\r\n"
                                 "\n"
                                 "{\"step\": \"2\", \"loss\": 1}\n"
                                 "{\"step\": 2.5, \"loss\": 1}\n"
                                 "{\"loss\": 1}\n"
                                 "\xff\xfe garbage\n"
                                 "{\"step\": 3, \"elapsed_s\": 4.0, \"loss\": 1e308}\n");
  const track::TailResult r = track::tail_metrics(path, {}, 1000.0);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].name, "loss");
  EXPECT_EQ(r.rows[0].value, 2.5);
  EXPECT_EQ(r.rows[1].name, "elapsed_s");
  EXPECT_EQ(r.rows[2].time, 1004.0);  // started_at + elapsed_s
  ASSERT_EQ(r.bad_lines.size(), 4u);
  EXPECT_EQ(r.bad_lines[0], "[" + path + ":3] no integer \"step\"");
  EXPECT_EQ(r.bad_lines[3], "[" + path + ":6] not JSON");
  EXPECT_EQ(r.position.lines, 7);
  EXPECT_FALSE(r.restarted);
}

TEST(MetricsTail, AFileThatShrankOrChangedIsReadAgain) {
  const std::string path = write(test::this_test_scratch("tail_") + "/metrics.jsonl",
                                 "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 2}\n");
  const track::TailResult first = track::tail_metrics(path, {}, 0);
  write(path, "{\"step\": 1, \"loss\": 3}\n");
  const track::TailResult shrunk = track::tail_metrics(path, first.position, 0);
  EXPECT_TRUE(shrunk.restarted);
  EXPECT_EQ(shrunk.rows.size(), 1u);
  write(path, "{\"step\": 1, \"loss\": 9}\n{\"step\": 2, \"loss\": 2}\n{\"step\": 3, \"loss\": 1}\n");
  const track::TailResult changed = track::tail_metrics(path, first.position, 0);
  EXPECT_TRUE(changed.restarted);
  EXPECT_EQ(changed.rows.size(), 3u);
}

// Random bytes and lines, appended in random pieces: the rows and bad lines read
// piece by piece are those of one read of the whole.
TEST(MetricsTail, PiecewiseReadsOfHostileBytesMatchOneRead) {
  const std::string dir = test::this_test_scratch("tail_");
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {"{\"step\": 1, \"loss\": 0.5}\n", "{\"step\": ", "\n", "\"",
                                           "{}", "[", std::string("\0\1", 2), "{\"step\": 9223372036854775807, \"v\": -0}\n",
                                           "\xc3\x28", "{\"step\": 2, \"a\": 1, \"a\": 2}\n", "\r\n", " "};
  for (int round = 0; round < 20; ++round) {
    const std::string path = dir + "/m" + std::to_string(round) + ".jsonl";
    write(path, "");
    track::TailPosition at;
    size_t rows = 0, bad = 0;
    std::string whole;
    for (int i = 0; i < 60; ++i) {
      const std::string piece = pieces[random() % pieces.size()];
      whole += piece;
      write(path, piece, std::ios::app);
      const track::TailResult r = track::tail_metrics(path, at, 0);
      ASSERT_FALSE(r.restarted);
      ASSERT_GE(r.position.offset, at.offset);
      rows += r.rows.size();
      bad += r.bad_lines.size();
      at = r.position;
    }
    const track::TailResult once = track::tail_metrics(path, {}, 0);
    EXPECT_EQ(rows, once.rows.size());
    EXPECT_EQ(bad, once.bad_lines.size());
    EXPECT_EQ(at.offset, once.position.offset);
    EXPECT_EQ(size_t(at.offset), whole.rfind('\n') == std::string::npos ? 0 : whole.rfind('\n') + 1);
  }
}

}  // namespace
}  // namespace whet
