// GGUF reader and writer: round trips, files assembled byte by byte, hostile input, the default model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/utf8.h"
#include "io/gguf.h"
#include "kernels/quant.h"
#include "test_support.h"

namespace whet {
namespace {

// A fresh folder for the running test (kept apart from the ASan binary's).
std::string scratch() { return test::this_test_scratch("gguf_"); }

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A GGUF file assembled field by field (little-endian), independently of GgufWriter.
struct Bytes {
  std::string s;
  template <typename T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& str(std::string_view v) {
    put<uint64_t>(v.size());
    s.append(v);
    return *this;
  }
  Bytes& key(std::string_view name, GgufType type) { return str(name).put(uint32_t(type)); }
  Bytes& tensor(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    str(name).put(uint32_t(ne.size()));
    for (uint64_t d : ne) put(d);
    return put(type).put(offset);
  }
  Bytes& pad(size_t alignment = 32) {
    s.resize((s.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Bytes& zeros(size_t n) {
    s.append(n, '\0');
    return *this;
  }
};

Bytes header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
  Bytes b;
  b.s = "GGUF";
  return b.put(version).put(tensors).put(kvs);
}

constexpr uint32_t kF32 = 0, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8;

// One metadata string and one tensor "w" with the given info, then `data_bytes` of data.
Bytes one_tensor_file(const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset, size_t data_bytes) {
  Bytes b = header(1, 1);
  b.key("general.name", GgufType::STRING).str("t");
  return b.tensor("w", ne, type, offset).pad().zeros(data_bytes);
}

// Opening `path` must throw whet::Error naming the file and containing every fragment.
void expect_open_error(const std::string& path, std::initializer_list<std::string_view> fragments) {
  try {
    GgufFile::open(path);
    ADD_FAILURE() << "no error opening " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (std::string_view f : fragments) EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' not in: " << message;
  }
}

void expect_rejected(const Bytes& b, std::initializer_list<std::string_view> fragments) {
  const std::string path = scratch() + "/hostile.gguf";
  write_bytes(path, b.s);
  expect_open_error(path, fragments);
}

GgufValue value_of(GgufType type, decltype(GgufValue::value) v) {
  GgufValue g;
  g.type = type;
  g.value = std::move(v);
  return g;
}

GgufValue array_of(GgufType element, decltype(GgufValue::value) items) {
  GgufValue g = value_of(GgufType::ARRAY, std::move(items));
  g.element_type = element;
  return g;
}

// Metadata covering every value type, arrays of each element kind, and the make_* helpers.
std::vector<std::pair<std::string, GgufValue>> every_kind_of_metadata() {
  using T = GgufType;
  using Ints = std::vector<int64_t>;
  using Floats = std::vector<double>;
  using Strings = std::vector<std::string>;
  return {
      {"t.uint8", value_of(T::UINT8, int64_t(200))},
      {"t.int8", value_of(T::INT8, int64_t(-100))},
      {"t.uint16", value_of(T::UINT16, int64_t(60000))},
      {"t.int16", value_of(T::INT16, int64_t(-30000))},
      {"t.uint32", value_of(T::UINT32, int64_t(4000000000))},
      {"t.int32", value_of(T::INT32, int64_t(-2000000000))},
      {"t.float32", value_of(T::FLOAT32, 0.15625)},
      {"t.bool", value_of(T::BOOL, int64_t(1))},
      {"t.string", value_of(T::STRING, std::string("nul\0inside, ünïcode", 21))},
      {"t.uint64", value_of(T::UINT64, int64_t(-1))},  // 2^64 - 1 as its bit pattern
      {"t.int64", value_of(T::INT64, std::numeric_limits<int64_t>::min())},
      {"t.float64", value_of(T::FLOAT64, 3.141592653589793)},
      {"a.strings", array_of(T::STRING, Strings{"", "x", "ünïcode"})},
      {"a.uint8", array_of(T::UINT8, Ints{0, 255})},
      {"a.int16", array_of(T::INT16, Ints{-32768, 32767})},
      {"a.uint64", array_of(T::UINT64, Ints{-1, 5})},
      {"a.bool", array_of(T::BOOL, Ints{1, 0})},
      {"a.float64", array_of(T::FLOAT64, Floats{1e300, -0.0})},
      {"a.empty", array_of(T::INT32, Ints{})},
      {"m.string", GgufValue::make_string("llama")},
      {"m.u32", GgufValue::make_u32(4294967295u)},
      {"m.i32", GgufValue::make_i32(-7)},
      {"m.f32", GgufValue::make_f32(1e-5f)},
      {"m.bool", GgufValue::make_bool(false)},
      {"m.strings", GgufValue::make_strings({"a", "bc"})},
      {"m.i32s", GgufValue::make_i32s({-1, 0, 2147483647})},
      {"m.f32s", GgufValue::make_f32s({0.5, -2.25})},
  };
}

struct TestTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

std::vector<TestTensor> tensors_of_several_types() {
  std::vector<TestTensor> tensors = {
      {"f32", DType::F32, {3, 4}, {}},        {"f16", DType::F16, {2, 8}, {}},  {"bf16", DType::BF16, {5}, {}},
      {"q8_0", DType::Q8_0, {2, 64}, {}},     {"q4_k", DType::Q4_K, {1, 256}, {}},
      {"i32", DType::I32, {2, 1, 3, 1}, {}},  {"q6_k", DType::Q6_K, {256}, {}},
  };
  uint8_t next = 1;
  for (TestTensor& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    t.data.resize(dtype_bytes(t.dtype, numel));
    for (uint8_t& byte : t.data) byte = next += 37;
  }
  return tensors;
}

std::string write_test_file(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                            const std::vector<TestTensor>& tensors) {
  GgufWriter writer;
  for (const auto& [key, value] : metadata) writer.set(key, value);
  for (const TestTensor& t : tensors) writer.add_tensor(t.name, t.dtype, t.shape, t.data.data(), t.data.size());
  writer.write(path);
  return path;
}

void expect_same_value(const GgufValue& got, const GgufValue& want, const std::string& key) {
  EXPECT_EQ(got.type, want.type) << key;
  if (want.type == GgufType::ARRAY) {
    EXPECT_EQ(got.element_type, want.element_type) << key;
  }
  EXPECT_TRUE(got.value == want.value) << key;
}

// --- writer and reader together

TEST(Gguf, RoundTripsMetadataOfEveryTypeAndTensors) {
  const auto metadata = every_kind_of_metadata();
  const auto tensors = tensors_of_several_types();
  const std::string path = write_test_file(scratch() + "/all.gguf", metadata, tensors);

  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.version, 3u);
  EXPECT_EQ(g.alignment, 32u);
  EXPECT_EQ(g.path(), path);
  ASSERT_EQ(g.metadata.size(), metadata.size());
  for (const auto& [key, value] : metadata) {
    ASSERT_TRUE(g.has(key)) << key;
    expect_same_value(g.metadata.at(key), value, key);
  }
  ASSERT_EQ(g.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& got = g.tensors[i];
    EXPECT_EQ(got.name, tensors[i].name);
    EXPECT_EQ(got.dtype, tensors[i].dtype) << got.name;
    EXPECT_EQ(got.shape, tensors[i].shape) << got.name;
    ASSERT_EQ(got.nbytes, tensors[i].data.size()) << got.name;
    EXPECT_EQ(std::memcmp(got.data, tensors[i].data.data(), got.nbytes), 0) << got.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.data) % 32, 0u) << got.name;  // the mapping is page aligned
    EXPECT_EQ(g.find_tensor(got.name), &got);
  }
  EXPECT_EQ(g.find_tensor("absent"), nullptr);
}

// The header fields and the innermost-first ne[] order, read back from the bytes themselves.
TEST(Gguf, WriterLaysOutHeaderAndReversedShape) {
  const std::vector<float> data(12, 1.0f);
  GgufWriter writer;
  writer.add_tensor("m", DType::F32, {3, 4}, data.data(), 48);
  const std::string path = scratch() + "/layout.gguf";
  writer.write(path);
  const std::string bytes = read_bytes(path);
  Bytes want = header(1, 0);
  want.tensor("m", {4, 3}, kF32, 0).pad();
  ASSERT_EQ(bytes.size(), want.s.size() + 48);
  EXPECT_EQ(bytes.substr(0, want.s.size()), want.s);
  EXPECT_EQ(std::memcmp(bytes.data() + want.s.size(), data.data(), 48), 0);
}

TEST(Gguf, ReadsHandBuiltVersion2File) {
  Bytes b = header(2, 1, 2);
  b.key("general.architecture", GgufType::STRING).str("llama");
  b.tensor("a", {4, 3}, kF32, 0).tensor("b", {32}, kQ8_0, 64).pad();
  for (int i = 0; i < 12; ++i) b.put(float(i));
  b.pad().zeros(34);
  const std::string path = scratch() + "/v2.gguf";
  write_bytes(path, b.s);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.version, 2u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  ASSERT_EQ(g.tensors.size(), 2u);
  EXPECT_EQ(g.tensors[0].shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(reinterpret_cast<const float*>(g.tensors[0].data)[11], 11.0f);
  EXPECT_EQ(g.tensors[1].dtype, DType::Q8_0);
  EXPECT_EQ(g.tensors[1].data - g.tensors[0].data, 64);
}

// ggml type codes 6 and 7: blocks of 32 in 22 bytes (Q5_0) and 24 bytes (Q5_1).
TEST(Gguf, ReadsQ5Tensors) {
  Bytes b = header(2, 0);
  b.tensor("a", {64, 3}, kQ5_0, 0).tensor("b", {32, 2}, kQ5_1, 160).pad().zeros(160 + 48);
  const std::string path = scratch() + "/q5.gguf";
  write_bytes(path, b.s);
  const GgufFile g = GgufFile::open(path);
  ASSERT_EQ(g.tensors.size(), 2u);
  EXPECT_EQ(g.tensors[0].dtype, DType::Q5_0);
  EXPECT_EQ(g.tensors[0].nbytes, 6u * 22);
  EXPECT_EQ(g.tensors[0].shape, (std::vector<int64_t>{3, 64}));
  EXPECT_EQ(g.tensors[1].dtype, DType::Q5_1);
  EXPECT_EQ(g.tensors[1].nbytes, 2u * 24);
}

TEST(Gguf, TypedGetters) {
  const std::string path = write_test_file(scratch() + "/getters.gguf", every_kind_of_metadata(), {});
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.get_int("t.uint32"), 4000000000);
  EXPECT_EQ(g.get_int("t.int8"), -100);
  EXPECT_EQ(g.get_int("t.bool"), 1);
  EXPECT_EQ(g.get_float("t.float32"), 0.15625);
  EXPECT_EQ(g.get_float("t.int16"), -30000.0);
  EXPECT_EQ(g.get_float("t.uint64"), 18446744073709551615.0);
  EXPECT_TRUE(g.get_bool("t.bool"));
  EXPECT_FALSE(g.get_bool("m.bool"));
  EXPECT_EQ(g.get_string("m.string"), "llama");
  EXPECT_EQ(g.get_strings("a.strings"), (std::vector<std::string>{"", "x", "ünïcode"}));
  EXPECT_EQ(g.get_ints("m.i32s"), (std::vector<int64_t>{-1, 0, 2147483647}));
  EXPECT_EQ(g.get_ints("a.uint8"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(g.get_floats("m.f32s"), (std::vector<double>{0.5, -2.25}));
  EXPECT_EQ(g.get_float("m.f32"), double(1e-5f));

  EXPECT_EQ(g.get_int("absent", 42), 42);
  EXPECT_EQ(g.get_float("absent", 0.5), 0.5);
  EXPECT_TRUE(g.get_bool("absent", true));
  EXPECT_EQ(g.get_string("absent", "dflt"), "dflt");
  EXPECT_EQ(g.get_int("t.int32", 0), -2000000000);

  auto expect_error = [&](auto get, std::string_view key, std::string_view fragment) {
    try {
      get();
      ADD_FAILURE() << "no error for " << key;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(std::string("'") + std::string(key) + "'"), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
    }
  };
  expect_error([&] { g.get_int("missing.key"); }, "missing.key", "missing");
  expect_error([&] { g.get_int("t.string"); }, "t.string", "expected an integer");
  expect_error([&] { g.get_float("t.bool"); }, "t.bool", "expected a number");
  expect_error([&] { g.get_string("t.int8"); }, "t.int8", "of type int8");
  expect_error([&] { g.get_bool("t.uint8"); }, "t.uint8", "expected a bool");
  expect_error([&] { g.get_strings("m.i32s"); }, "m.i32s", "an array of int32");
  expect_error([&] { g.get_ints("m.f32s"); }, "m.f32s", "expected an array of integers");
  expect_error([&] { g.get_floats("a.strings"); }, "a.strings", "expected an array of floats");
  expect_error([&] { g.get_string("t.float64", "x"); }, "t.float64", "expected a string");
}

TEST(Gguf, SetReplacesAKeyInPlace) {
  GgufWriter writer;
  writer.set("a", GgufValue::make_u32(1));
  writer.set("b", GgufValue::make_string("x"));
  writer.set("a", GgufValue::make_string("replaced"));
  const std::string path = scratch() + "/set.gguf";
  writer.write(path);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.metadata.size(), 2u);
  EXPECT_EQ(g.get_string("a"), "replaced");
  // Insertion order is kept: "a" is still the first key in the file.
  const std::string bytes = read_bytes(path);
  EXPECT_EQ(bytes.substr(24, 9), std::string("\1\0\0\0\0\0\0\0a", 9));
}

TEST(Gguf, GeneralAlignmentIsHonoured) {
  const auto tensors = tensors_of_several_types();
  const std::string path =
      write_test_file(scratch() + "/aligned.gguf", {{"general.alignment", GgufValue::make_u32(256)}}, tensors);
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.alignment, 256u);
  for (const TensorView& t : g.tensors) EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 256, 0u) << t.name;
  EXPECT_EQ(std::memcmp(g.tensors.back().data, tensors.back().data.data(), tensors.back().data.size()), 0);

  GgufWriter bad;
  bad.set("general.alignment", GgufValue::make_u32(48));
  const std::string bad_path = scratch() + "/bad.gguf";
  EXPECT_THROW(bad.write(bad_path), Error);
}

// --- hostile input: every case throws whet::Error naming the file

TEST(GgufHostile, MissingFile) { expect_open_error(scratch() + "/does_not_exist.gguf", {"cannot open"}); }

TEST(GgufHostile, EmptyFile) { expect_rejected(Bytes{}, {"not a GGUF file", "empty"}); }

TEST(GgufHostile, WrongMagic) {
  Bytes b;
  b.s = "GGML";
  b.put(uint32_t(3)).put(uint64_t(0)).put(uint64_t(0));
  expect_rejected(b, {"not a GGUF file", "47 47 4d 4c"});
  b.s = "GG";
  expect_rejected(b, {"not a GGUF file", "47 47,"});
}

TEST(GgufHostile, UnsupportedVersion) {
  expect_rejected(header(0, 0, 1), {"unsupported GGUF version 1"});
  expect_rejected(header(0, 0, 4), {"unsupported GGUF version 4"});
  expect_rejected(header(0, 0, 0x03000000), {"unsupported GGUF version 50331648"});  // big-endian v3
}

TEST(GgufHostile, EveryTruncationIsAnError) {
  const std::vector<float> f32(8, 2.0f);
  std::vector<uint8_t> q8(34 * 2, 7);
  GgufWriter writer;
  writer.set("general.architecture", GgufValue::make_string("llama"));
  writer.set("tokenizer.ggml.tokens", GgufValue::make_strings({"a", "bb", "ccc"}));
  writer.set("tokenizer.ggml.scores", GgufValue::make_f32s({0.5, 1.5, 2.5}));
  writer.set("llama.block_count", GgufValue::make_u32(2));
  writer.add_tensor("x", DType::F32, {2, 4}, f32.data(), 32);
  writer.add_tensor("y", DType::Q8_0, {64}, q8.data(), q8.size());
  const std::string dir = scratch();
  writer.write(dir + "/full.gguf");
  const std::string full = read_bytes(dir + "/full.gguf");
  ASSERT_NO_THROW(GgufFile::open(dir + "/full.gguf"));

  const std::string path = dir + "/prefix.gguf";
  for (size_t n = 0; n < full.size(); ++n) {
    write_bytes(path, std::string_view(full).substr(0, n));
    SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
    expect_open_error(path, {});
  }
  // Two of them in detail: inside the last metadata value, and one byte short of the last tensor's data.
  const size_t last_value = full.find("llama.block_count") + 17 + 4;
  write_bytes(path, std::string_view(full).substr(0, last_value + 2));
  expect_open_error(path, {"truncated: uint32 value of key 'llama.block_count'"});
  write_bytes(path, std::string_view(full).substr(0, full.size() - 1));
  expect_open_error(path, {"tensor 'y'", "68 bytes", "extends past end of file"});
}

TEST(GgufHostile, HugeStringLength) {
  Bytes key = header(0, 1);
  key.put(uint64_t(1) << 62).zeros(16);
  expect_rejected(key, {"truncated", "key of metadata entry 0", "4611686018427387904"});
  Bytes value = header(0, 1);
  value.key("k", GgufType::STRING).put(~uint64_t(0)).zeros(16);
  expect_rejected(value, {"truncated", "'k'"});
}

TEST(GgufHostile, HugeArrayLength) {
  Bytes numbers = header(0, 1);
  numbers.key("arr", GgufType::ARRAY).put(uint32_t(GgufType::UINT32)).put(uint64_t(1) << 61).zeros(64);
  expect_rejected(numbers, {"array length 2305843009213693952", "'arr'"});
  Bytes strings = header(0, 1);
  strings.key("toks", GgufType::ARRAY).put(uint32_t(GgufType::STRING)).put(uint64_t(100)).zeros(64);
  expect_rejected(strings, {"array length 100", "'toks'"});
}

TEST(GgufHostile, HugeCounts) {
  expect_rejected(header(0, uint64_t(1) << 60), {"metadata entry count"});
  expect_rejected(header(uint64_t(1) << 60, 0), {"tensor count"});
}

TEST(GgufHostile, TooManyDimensions) {
  expect_rejected(one_tensor_file({1, 1, 1, 1, 1}, kF32, 0, 4), {"'w'", "5 dimensions"});
  expect_rejected(one_tensor_file({}, kF32, 0, 4), {"'w'", "0 dimensions"});
}

TEST(GgufHostile, TensorOffsetBeyondFile) {
  expect_rejected(one_tensor_file({16}, kF32, 1024, 64), {"tensor 'w'", "offset 1024", "extends past end of file"});
  expect_rejected(one_tensor_file({16}, kF32, 0, 60), {"tensor 'w'", "64 bytes", "extends past end of file"});
  expect_rejected(one_tensor_file({64, 2}, kQ5_0, 0, 87), {"tensor 'w'", "88 bytes", "extends past end of file"});
  expect_rejected(one_tensor_file({64, 2}, kQ5_1, 0, 95), {"tensor 'w'", "96 bytes", "extends past end of file"});
  const uint64_t huge_aligned_offset = ~uint64_t(0) - 31;
  expect_rejected(one_tensor_file({16}, kF32, huge_aligned_offset, 64), {"tensor 'w'", "extends past end of file"});
}

TEST(GgufHostile, DataSizeOverflow) {
  const uint64_t big = uint64_t(1) << 32;
  expect_rejected(one_tensor_file({big, big, big}, kF32, 0, 64), {"tensor 'w'", "overflows"});
  expect_rejected(one_tensor_file({uint64_t(1) << 63}, kF32, 0, 64), {"tensor 'w'", "overflows"});
  // Fits in int64 elements, but 2^61 floats are 2^63 bytes.
  expect_rejected(one_tensor_file({uint64_t(1) << 61}, kF32, 0, 64), {"tensor 'w'", "exceeds the file size"});
}

TEST(GgufHostile, UnknownTensorType) {
  expect_rejected(one_tensor_file({16}, 99, 0, 64), {"unknown tensor type 99 for tensor 'w'"});
  // Q2_K (ggml type 10) exists, but Whet does not decode it; the message lists what it does decode.
  expect_rejected(one_tensor_file({256}, 10, 0, 96), {"unknown tensor type 10 for tensor 'w'", "Q5_0, Q5_1"});
}

TEST(GgufHostile, MisalignedOffset) {
  expect_rejected(one_tensor_file({4}, kF32, 4, 64), {"tensor 'w'", "offset 4 is not a multiple of the alignment 32"});
}

TEST(GgufHostile, RowNotWholeBlocks) {
  expect_rejected(one_tensor_file({48, 2}, kQ8_0, 0, 128), {"tensor 'w'", "row length 48", "Q8_0 block size 32"});
  expect_rejected(one_tensor_file({48, 2}, kQ5_0, 0, 128), {"tensor 'w'", "row length 48", "Q5_0 block size 32"});
  expect_rejected(one_tensor_file({16}, kQ5_1, 0, 128), {"tensor 'w'", "row length 16", "Q5_1 block size 32"});
}

TEST(GgufHostile, DuplicateTensorNames) {
  Bytes b = header(2, 0);
  b.tensor("w", {4}, kF32, 0).tensor("w", {4}, kF32, 32).pad().zeros(64);
  expect_rejected(b, {"duplicate tensor name 'w'"});
}

TEST(GgufHostile, DuplicateKeys) {
  Bytes b = header(0, 2);
  b.key("general.name", GgufType::UINT32).put(uint32_t(1));
  b.key("general.name", GgufType::UINT32).put(uint32_t(2));
  expect_rejected(b, {"duplicate metadata key 'general.name'"});
}

// A corrupted name is quoted in the message, but as printable text: the bytes
// that are not UTF-8 and the terminal escape become \xNN, so stderr stays text.
TEST(GgufHostile, CorruptNamesAreEscapedInTheMessage) {
  Bytes b = header(2, 0);
  b.tensor("w\xff\x1b[2J", {4}, kF32, 0).tensor("w\xff\x1b[2J", {4}, kF32, 32).pad().zeros(64);
  const std::string path = scratch() + "/corrupt_name.gguf";
  write_bytes(path, b.s);
  try {
    GgufFile::open(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("duplicate tensor name 'w\\xff\\x1b[2J'"), std::string::npos) << message;
    EXPECT_FALSE(invalid_utf8_at(message)) << message;
    EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  }
}

TEST(GgufHostile, BadValueTypes) {
  Bytes nested = header(0, 1);
  nested.key("nest", GgufType::ARRAY).put(uint32_t(GgufType::ARRAY)).put(uint64_t(1)).zeros(16);
  expect_rejected(nested, {"'nest'", "arrays of arrays"});
  Bytes unknown = header(0, 1);
  unknown.key("odd", GgufType(13)).zeros(8);
  expect_rejected(unknown, {"unknown value type 13", "'odd'"});
  Bytes unknown_element = header(0, 1);
  unknown_element.key("odd", GgufType::ARRAY).put(uint32_t(77)).put(uint64_t(1)).zeros(8);
  expect_rejected(unknown_element, {"unknown array element type 77", "'odd'"});
  Bytes boolean = header(0, 1);
  boolean.key("flag", GgufType::BOOL).put(uint8_t(2));
  expect_rejected(boolean, {"invalid bool value 2", "'flag'"});
}

TEST(GgufHostile, BadAlignment) {
  for (uint32_t alignment : {0u, 48u}) {
    Bytes b = header(0, 1);
    b.key("general.alignment", GgufType::UINT32).put(alignment);
    expect_rejected(b, {"general.alignment", "not a power of two"});
  }
}

// --- the default model

TEST(GgufDefaultModel, OpensAndDequantizes) {
  const std::string path = test::default_model_path();
  WHET_REQUIRE_DEFAULT_MODEL();
  const GgufFile g = GgufFile::open(path);
  EXPECT_EQ(g.version, 3u);
  EXPECT_EQ(g.tensors.size(), 272u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_int("llama.block_count"), 30);

  const TensorView* embed = g.find_tensor("token_embd.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->dtype, DType::Q8_0);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{49152, 576}));
  const TensorView* q = g.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, DType::Q4_1);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{576, 576}));

  const TensorView* norm = g.find_tensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  for (const TensorView* t : {norm, embed}) {
    const int64_t row = t->shape.back();
    std::vector<float> values(row);
    dequantize(t->dtype, t->data, values.data(), row);
    double sum_abs = 0;
    for (float v : values) {
      ASSERT_TRUE(std::isfinite(v)) << t->name;
      sum_abs += std::fabs(v);
    }
    EXPECT_GT(sum_abs, 0) << t->name;  // a row of real weights is not all zeros
  }
}

}  // namespace
}  // namespace whet
