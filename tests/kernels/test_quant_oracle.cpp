// Every block decoder against an outside one: gguf-py's gguf.quants.dequantize
// (llama.cpp's Python port of ggml's decoders), through
// tests/python/check_dequantize.py. Random blocks reach bit patterns hand-built
// blocks do not; the real models' tensors are what users load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cli/run_whet.h"
#include "core/dtype.h"
#include "io/gguf.h"
#include "kernels/quant.h"

namespace whet {
namespace {

// Byte offsets of the f16 fields (scales, minimums) in a block of each type.
struct RandomBlocks {
  DType type;
  std::vector<int> f16_fields;
};

// Random bytes, with finite f16 fields of moderate size: random bits there
// would give inf and NaN, which compare as nothing.
std::vector<uint8_t> random_blocks(const RandomBlocks& c, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  std::vector<uint8_t> bytes(dtype_bytes(c.type, n));
  for (uint8_t& b : bytes) b = uint8_t(rng());
  for (size_t at = 0; at < bytes.size(); at += size_t(dtype_info(c.type).block_bytes)) {
    for (int field : c.f16_fields) {
      const uint16_t h = f32_to_f16(scale(rng));
      std::memcpy(&bytes[at + size_t(field)], &h, 2);
    }
  }
  return bytes;
}

// Writes the first `rows` rows of `t` as Whet decodes them to DIR/NAME.f32.
void write_decoded_rows(const TensorView& t, int64_t rows, const std::string& dir) {
  const int64_t row = t.shape.back();
  std::vector<float> values(size_t(rows * row));
  dequantize(t.dtype, t.data, values.data(), rows * row);
  std::ofstream out(dir + "/" + t.name + ".f32", std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
  ASSERT_TRUE(out.good()) << dir << "/" << t.name;
}

void expect_check_passes(const std::string& gguf, const std::string& decoded) {
  const test::RunResult r = test::run_whet_command(test::test_python() + " " +
                                                   test::source_path("tests/python/check_dequantize.py") + " " + gguf +
                                                   " " + decoded);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("tensors ok"), std::string::npos) << r.out << r.err;
}

TEST(QuantOracle, RandomBlocksDecodeAsGgufPy) {
  WHET_REQUIRE_FILE(test::test_python(), "scripts/setup_test_venv.sh");
  const std::string dir = test::this_test_scratch("quant_oracle_");
  const RandomBlocks kTypes[] = {{DType::Q8_0, {0}},    {DType::Q4_0, {0}},    {DType::Q4_1, {0, 2}},
                                 {DType::Q5_0, {0}},    {DType::Q5_1, {0, 2}}, {DType::Q4_K, {0, 2}},
                                 {DType::Q5_K, {0, 2}}, {DType::Q6_K, {208}}};
  const int64_t rows = 3, cols = 512;
  std::vector<std::vector<uint8_t>> data;  // kept alive until the file is written
  GgufWriter out;
  for (const RandomBlocks& c : kTypes) {
    data.push_back(random_blocks(c, rows * cols, uint32_t(data.size() + 1)));
    out.add_tensor(std::string(dtype_name(c.type)), c.type, {rows, cols}, data.back().data(), data.back().size());
  }
  const std::string path = dir + "/random_blocks.gguf";
  out.write(path);
  const GgufFile g = GgufFile::open(path);
  std::filesystem::create_directories(dir + "/decoded");
  for (const TensorView& t : g.tensors) write_decoded_rows(t, rows, dir + "/decoded");
  expect_check_passes(path, dir + "/decoded");
}

// Qwen2.5-Coder-0.5B and Gemma 3 270M (Q4_K_M files: mostly Q5_0, with Q8_0,
// Q4_K and Q6_K): the first rows of three tensors of each type, when fetched.
TEST(QuantOracle, RealModelTensorsDecodeAsGgufPy) {
  WHET_REQUIRE_FILE(test::test_python(), "scripts/setup_test_venv.sh");
  const std::string models = std::filesystem::path(test::default_model_path()).parent_path().string();
  const std::string scratch = test::this_test_scratch("quant_oracle_");
  int checked = 0;
  for (const char* file : {"Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf", "gemma-3-270m.Q4_K_M.gguf"}) {
    const std::string path = models + "/" + file;
    if (!std::filesystem::exists(path)) continue;  // scripts/fetch_model.sh qwen2.5-coder | gemma3
    SCOPED_TRACE(path);
    const std::string decoded = scratch + "/" + file;
    std::filesystem::create_directories(decoded);
    const GgufFile g = GgufFile::open(path);
    std::map<DType, int> taken;
    for (const TensorView& t : g.tensors) {
      if (!is_quantized(t.dtype) || taken[t.dtype]++ >= 3) continue;
      write_decoded_rows(t, std::min<int64_t>(4, t.numel() / t.shape.back()), decoded);
    }
    ASSERT_TRUE(taken.count(DType::Q5_0)) << "the file has no Q5_0 tensor";
    expect_check_passes(path, decoded);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "neither Qwen2.5-Coder nor Gemma 3 is in " << models << " (scripts/fetch_model.sh)";
}

}  // namespace
}  // namespace whet
