// safetensors: round trips through the writer, sharded directories, and hostile files that must
// yield whet::Error naming the file (and the tensor) rather than crash. Hostile files are built
// byte by byte here from the format description, not by the writer under test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace whet {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
Bytes bytes_of(std::initializer_list<T> values) {
  Bytes b(values.size() * sizeof(T));
  std::memcpy(b.data(), std::data(values), b.size());
  return b;
}

TensorView view_of(const std::string& name, DType dtype, std::vector<int64_t> shape, const Bytes& data) {
  return TensorView{name, dtype, std::move(shape), data.data(), data.size()};
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A safetensors file with the given header text (unpadded) followed by `data_bytes` zero bytes.
Bytes raw_file(const std::string& header, size_t data_bytes) {
  Bytes b(8);
  const uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + data_bytes, 0);
  return b;
}

using test::expect_error;

void expect_open_error(const std::string& path, const std::vector<std::string>& parts) {
  std::vector<std::string> with_path = parts;
  with_path.push_back(path);
  expect_error([&] { SafetensorsFile::open(path); }, with_path);
}

const Bytes kF32 = bytes_of<float>({1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f});
const Bytes kF16 = bytes_of<uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001});
const Bytes kBF16 = bytes_of<uint16_t>({0x3f80, 0xbf80, 0x4049});
const Bytes kI32 = bytes_of<int32_t>({-7, 0, 42, 2147483647, -2147483647 - 1});
const Bytes kScalar = bytes_of<int32_t>({5});
const Bytes kEmpty;

std::vector<TensorView> sample_tensors() {
  return {view_of("model.embed.weight", DType::F32, {2, 3}, kF32), view_of("half", DType::F16, {4}, kF16),
          view_of("brain", DType::BF16, {3, 1}, kBF16), view_of("empty", DType::F32, {0, 4}, kEmpty),
          view_of("ids", DType::I32, {5}, kI32), view_of("scalar", DType::I32, {}, kScalar)};
}

void expect_same(const TensorView& expected, const TensorView* got) {
  ASSERT_NE(got, nullptr) << expected.name;
  EXPECT_EQ(got->dtype, expected.dtype) << expected.name;
  EXPECT_EQ(got->shape, expected.shape) << expected.name;
  ASSERT_EQ(got->nbytes, expected.nbytes) << expected.name;
  EXPECT_EQ(std::memcmp(got->data, expected.data, expected.nbytes), 0) << expected.name;
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  const std::string path = test::scratch_dir("safetensors_round_trip") + "/model.safetensors";
  const std::vector<TensorView> tensors = sample_tensors();
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "ünïcode"}});
  const SafetensorsFile st = SafetensorsFile::open(path);
  ASSERT_EQ(st.tensors.size(), tensors.size());
  for (const TensorView& t : tensors) expect_same(t, st.find_tensor(t.name));
  EXPECT_EQ(st.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "ünïcode"}}));
  EXPECT_EQ(st.find_tensor("absent"), nullptr);
}

TEST(Safetensors, WritesPaddedHeaderAndTensorsInGivenOrder) {
  const std::string path = test::scratch_dir("safetensors_layout") + "/model.safetensors";
  const std::vector<TensorView> tensors = sample_tensors();
  write_safetensors(path, tensors);
  const Bytes file = read_bytes(path);
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const std::string header(file.begin() + 8, file.begin() + 8 + long(n));
  const auto json = nlohmann::json::parse(header);
  EXPECT_FALSE(json.contains("__metadata__"));
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));
  uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    EXPECT_EQ(json[t.name]["data_offsets"], nlohmann::json::array({offset, offset + t.nbytes})) << t.name;
    EXPECT_EQ(std::memcmp(file.data() + 8 + n + offset, t.data, t.nbytes), 0) << t.name;
    offset += t.nbytes;
  }
  EXPECT_EQ(file.size(), 8 + n + offset);
  // Tensors come back sorted by offset, which is the order they were given in.
  const SafetensorsFile st = SafetensorsFile::open(path);
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_EQ(st.tensors[i].name, tensors[i].name);
}

TEST(Safetensors, WriterRejectsWhatItCannotWrite) {
  const std::string path = test::scratch_dir("safetensors_writer_errors") + "/model.safetensors";
  const Bytes blocks(34);
  expect_error([&] { write_safetensors(path, {view_of("q", DType::Q8_0, {32}, blocks)}); }, {path, "'q'", "Q8_0"});
  expect_error([&] { write_safetensors(path, {view_of("short", DType::F32, {3, 3}, kF32)}); }, {path, "'short'"});
  expect_error([&] { write_safetensors(path, {view_of("x", DType::F32, {6}, kF32), view_of("x", DType::F32, {6}, kF32)}); },
               {path, "'x'"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Safetensors, OpensSingleFileDirectory) {
  const std::string dir = test::scratch_dir("safetensors_dir_single");
  write_safetensors(dir + "/model.safetensors", sample_tensors());
  EXPECT_EQ(SafetensorsFile::open_dir(dir).tensors.size(), sample_tensors().size());
}

std::string write_index(const std::string& dir, const nlohmann::json& weight_map) {
  const std::string path = dir + "/model.safetensors.index.json";
  std::ofstream(path) << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump();
  return path;
}

TEST(Safetensors, MergesShardsListedInIndex) {
  const std::string dir = test::scratch_dir("safetensors_sharded");
  const std::vector<TensorView> tensors = sample_tensors();
  const std::vector<TensorView> first(tensors.begin(), tensors.begin() + 3), second(tensors.begin() + 3, tensors.end());
  write_safetensors(dir + "/model-00001-of-00002.safetensors", first, {{"format", "pt"}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", second, {{"format", "pt"}});
  nlohmann::json weight_map;
  for (const TensorView& t : first) weight_map[t.name] = "model-00001-of-00002.safetensors";
  for (const TensorView& t : second) weight_map[t.name] = "model-00002-of-00002.safetensors";
  write_index(dir, weight_map);

  const SafetensorsFile st = SafetensorsFile::open_dir(dir);
  ASSERT_EQ(st.tensors.size(), tensors.size());
  for (const TensorView& t : tensors) expect_same(t, st.find_tensor(t.name));
  EXPECT_EQ(st.metadata.at("format"), "pt");
}

TEST(Safetensors, RejectsBadShardIndexes) {
  const std::string dir = test::scratch_dir("safetensors_bad_index");
  write_safetensors(dir + "/shard.safetensors", {view_of("w", DType::F32, {6}, kF32)});
  const std::string index = write_index(dir, {{"w", "../x"}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "'w'", "'../x'"});
  write_index(dir, {{"w", "/etc/passwd"}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "'w'"});
  write_index(dir, {{"w", ".."}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "'w'"});
  write_index(dir, {{"w", "shard.safetensors"}, {"v", "shard.safetensors"}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "'v'", "shard.safetensors"});
  write_index(dir, {{"w", "missing.safetensors"}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {dir + "/missing.safetensors"});
  write_index(dir, {{"w", 3}});
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "'w'"});
  std::ofstream(index) << "{\"weight_map\": {";
  expect_error([&] { SafetensorsFile::open_dir(dir); }, {index, "JSON"});
  expect_error([&] { SafetensorsFile::open_dir(test::scratch_dir("safetensors_empty_dir")); }, {"model.safetensors"});
}

TEST(Safetensors, EveryTruncatedPrefixIsAnError) {
  const std::string dir = test::scratch_dir("safetensors_truncated");
  const std::string valid = dir + "/valid.safetensors", path = dir + "/truncated.safetensors";
  write_safetensors(valid, {view_of("a", DType::F16, {4}, kF16), view_of("b", DType::F32, {6}, kF32)}, {{"k", "v"}});
  const Bytes file = read_bytes(valid);
  for (size_t length = 0; length < file.size(); ++length) {
    write_bytes(path, Bytes(file.begin(), file.begin() + long(length)));
    SCOPED_TRACE(length);
    expect_open_error(path, {});
  }
}

struct HostileCase {
  std::string name, header;
  size_t data_bytes;
  std::vector<std::string> message_parts;
};

TEST(Safetensors, HostileHeadersAreErrors) {
  const std::string dir = test::scratch_dir("safetensors_hostile");
  const std::vector<HostileCase> cases = {
      {"bad_json", R"({"w": {"dtype": "F32", "shape": [2], )", 8, {"JSON"}},
      {"not_object", R"([1, 2])", 0, {"not an object"}},
      {"entry_not_object", R"({"w": 5})", 0, {"'w'"}},
      {"missing_dtype", R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", 8, {"'w'", "dtype"}},
      {"unsupported_f64", R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8,
       {"unsupported dtype F64 for tensor 'w'"}},
      {"unsupported_u8", R"({"mask": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})", 1,
       {"unsupported dtype U8 for tensor 'mask'"}},
      {"quantized_name", R"({"w": {"dtype": "Q4_K", "shape": [1], "data_offsets": [0, 1]}})", 1,
       {"unsupported dtype Q4_K for tensor 'w'"}},
      {"offsets_outside", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8, {"'w'", "past"}},
      {"huge_offsets", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615]}})",
       8, {"'w'"}},
      {"offsets_reversed", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8, {"'w'", "order"}},
      {"three_offsets", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", 8, {"'w'"}},
      {"negative_offset", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 8, {"'w'"}},
      {"size_mismatch", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8, {"'w'", "12"}},
      {"overlap",
       R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
       12, {"'a'", "'b'", "overlap"}},
      {"negative_shape", R"({"w": {"dtype": "F32", "shape": [-1, -4], "data_offsets": [0, 16]}})", 16, {"'w'"}},
      {"fractional_shape", R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4, {"'w'"}},
      {"shape_overflow", R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", 0,
       {"'w'", "overflow"}},
      {"bytes_overflow", R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", 0, {"'w'"}},
      {"metadata_not_strings", R"({"__metadata__": {"n": 1}})", 0, {"'n'"}},
      {"invalid_utf8", "{\"w\xff\": 1}", 0, {"JSON"}},
  };
  for (const HostileCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/" + c.name + ".safetensors";
    write_bytes(path, raw_file(c.header, c.data_bytes));
    expect_open_error(path, c.message_parts);
  }
}

TEST(Safetensors, HeaderLengthBeyondFileIsAnError) {
  const std::string path = test::scratch_dir("safetensors_long_header") + "/model.safetensors";
  Bytes file = raw_file("{}", 0);
  const uint64_t huge = ~uint64_t(0);
  std::memcpy(file.data(), &huge, 8);
  write_bytes(path, file);
  expect_open_error(path, {"header length"});
}

TEST(Safetensors, AcceptsUnusualButValidFiles) {
  const std::string dir = test::scratch_dir("safetensors_unusual");
  // No tensors at all; a zero-size tensor sharing its offset with the next one; header padded with spaces.
  write_bytes(dir + "/empty.safetensors", raw_file("{}", 0));
  EXPECT_TRUE(SafetensorsFile::open(dir + "/empty.safetensors").tensors.empty());
  const std::string header =
      R"({"z": {"dtype": "BF16", "shape": [0], "data_offsets": [0, 0]}, "w": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}   )";
  write_bytes(dir + "/zero.safetensors", raw_file(header, 4));
  const SafetensorsFile st = SafetensorsFile::open(dir + "/zero.safetensors");
  ASSERT_EQ(st.tensors.size(), 2u);
  EXPECT_EQ(st.tensors[0].name, "z");
  EXPECT_EQ(st.tensors[1].nbytes, 4u);
}

}  // namespace
}  // namespace whet
