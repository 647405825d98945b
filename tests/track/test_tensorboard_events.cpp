// TensorBoard event files: CRC-32C against its standard check value, the
// TFRecord framing read back, and TensorBoard's own EventAccumulator (PyPI's
// tensorboard, in the test virtualenv) reading every scalar of an exported run.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/run_whet.h"
#include "run_folders.h"
#include "track/crc32c.h"
#include "track/run_folder.h"
#include "track/run_store.h"
#include "track/tensorboard_events.h"

namespace whet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(Crc32c, MatchesTheStandardCheckValues) {
  EXPECT_EQ(track::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(track::crc32c(""), 0u);
  // RFC 3720 (iSCSI), B.4: 32 bytes of zeros, and of 0xFF.
  EXPECT_EQ(track::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(track::crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

template <typename T>
T read_le(const std::string& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

TEST(TensorboardEvents, FramesEachEventAsATfRecord) {
  const std::string event = track::scalar_event(1700000000.5, 7, {{"loss", 1.25f}});
  const std::string record = track::tfrecord(event);
  ASSERT_EQ(record.size(), 8 + 4 + event.size() + 4);
  EXPECT_EQ(read_le<uint64_t>(record, 0), event.size());
  EXPECT_EQ(read_le<uint32_t>(record, 8), track::masked_crc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, event.size()), event);
  EXPECT_EQ(read_le<uint32_t>(record, 12 + event.size()), track::masked_crc32c(event));
  // Event: wall_time (field 1, fixed64), step (field 2, varint), summary (field 5, bytes).
  EXPECT_EQ(uint8_t(event[0]), 0x09);
  EXPECT_EQ(read_le<double>(event, 1), 1700000000.5);
  EXPECT_EQ(uint8_t(event[9]), 0x10);
  EXPECT_EQ(uint8_t(event[10]), 7);
  EXPECT_EQ(uint8_t(event[11]), 0x2A);
}

TEST(TensorboardEvents, TensorboardReadsEveryScalarOfAnExportedRun) {
  WHET_REQUIRE(test::run_whet_command(test::test_python() + " -c 'import tensorboard'").exit_code == 0,
               "tensorboard in " + test::test_python() + " (scripts/setup_test_venv.sh installs it) is missing");
  const std::string data = test::this_test_scratch("tensorboard_");
  const std::string dir = test::hand_run(data + "/runs/curves", "method: lora\n");
  std::string lines;
  for (int step = 1; step <= 300; ++step) {
    lines += test::step_line(step, 3.0 / step + 0.1);
    if (step % 50 == 0) lines += json({{"step", step}, {"epoch", 0}, {"val_loss", 2.0 / step}, {"eval_accuracy", step / 400.0}}).dump() + "\n";
  }
  test::append(dir + "/metrics.jsonl", lines);

  const std::string out = data + "/tb";
  const test::RunResult r = test::run_whet("runs export-tensorboard curves --data-dir " + data + " --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tensorboard --logdir " + out), std::string::npos) << r.err;

  track::RunStore store(data);
  json expected = json::array();
  for (const track::StoredMetric& m : store.metrics(track::path_run_id(dir), 0, 100000)) expected.push_back(track::metric_json(m));
  ASSERT_EQ(expected.size(), 300u * 4 + 6u * 3);
  std::ofstream(data + "/expected.json") << expected.dump();
  const test::RunResult check = test::run_whet_command(test::test_python() + " " +
                                                       test::source_path("tests/python/check_tensorboard_events.py") +
                                                       " " + out + " " + data + "/expected.json");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("tensorboard events: ok (1218 scalars, 6 tags)"), std::string::npos) << check.out << check.err;

  // A damaged byte is caught by TensorBoard's reader: the oracle is not blind.
  fs::path file;
  for (const auto& entry : fs::directory_iterator(out)) file = entry.path();
  std::string bytes((std::istreambuf_iterator<char>(std::ifstream(file, std::ios::binary).rdbuf())), {});
  bytes[bytes.size() / 2] ^= 0x40;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_NE(test::run_whet_command(test::test_python() + " " + test::source_path("tests/python/check_tensorboard_events.py") +
                                   " " + out + " " + data + "/expected.json")
                .exit_code,
            0);
}

}  // namespace
}  // namespace whet
