#include "io/gguf.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace whet {

// GGUF is little-endian; values are copied to and from the file as they are in memory.
static_assert(std::endian::native == std::endian::little);

namespace {

constexpr uint32_t kTypeCount = 13;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kDefaultAlignment = 32;
const std::string kAlignmentKey = "general.alignment";

// ggml_type codes (ggml.h) of the tensor encodings Whet knows.
struct TensorTypeCode {
  uint32_t code;
  DType dtype;
};
constexpr TensorTypeCode kTensorTypeCodes[] = {
    {0, DType::F32},   {1, DType::F16},   {2, DType::Q4_0},  {3, DType::Q4_1}, {6, DType::Q5_0},
    {7, DType::Q5_1},  {8, DType::Q8_0},  {12, DType::Q4_K}, {13, DType::Q5_K}, {14, DType::Q6_K},
    {26, DType::I32},  {30, DType::BF16},
};

std::optional<DType> dtype_from_code(uint32_t code) {
  for (const TensorTypeCode& t : kTensorTypeCodes)
    if (t.code == code) return t.dtype;
  return std::nullopt;
}

std::string supported_type_names() {
  std::vector<std::string_view> names;
  for (const TensorTypeCode& t : kTensorTypeCodes) names.push_back(dtype_name(t.dtype));
  return fmt::format("{}", fmt::join(names, ", "));
}

uint32_t code_from_dtype(DType dtype) {
  for (const TensorTypeCode& t : kTensorTypeCodes)
    if (t.dtype == dtype) return t.code;
  WHET_ASSERT(false && "DType without a ggml type code");
}

enum class Kind { Integer, Float, String, Array };

// Indexed by GgufType.
constexpr std::string_view kTypeNames[kTypeCount] = {"uint8", "int8",   "uint16", "int16", "uint32", "int32", "float32",
                                                     "bool",  "string", "array",  "uint64", "int64", "float64"};
// Bytes of a value on disk; for strings and arrays, the least they can take (their length fields).
constexpr uint64_t kEncodedSize[kTypeCount] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};

Kind kind_of(GgufType type) {
  switch (type) {
    case GgufType::FLOAT32:
    case GgufType::FLOAT64: return Kind::Float;
    case GgufType::STRING: return Kind::String;
    case GgufType::ARRAY: return Kind::Array;
    default: return Kind::Integer;
  }
}

uint64_t encoded_size(GgufType type) { return kEncodedSize[uint32_t(type)]; }

std::string describe(const GgufValue& v) {
  return v.type == GgufType::ARRAY ? fmt::format("an array of {}", kTypeNames[uint32_t(v.element_type)])
                                   : fmt::format("of type {}", kTypeNames[uint32_t(v.type)]);
}

uint64_t align_up(uint64_t offset, uint64_t alignment) { return offset + (alignment - offset % alignment) % alignment; }

// Sequential reader over the mapped file. Every read is bounds-checked first; `context` names
// what is being read (a key, a tensor) so that errors point at it.
class Reader {
 public:
  Reader(const MappedFile& file, size_t start) : file_(file), pos_(start) {}

  std::string context = "header";

  size_t pos() const { return pos_; }

  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
    fail(file_.path(), format, std::forward<Args>(args)...);
  }

  void need(uint64_t n, std::string_view what) const {
    if (n > file_.size() - pos_)
      error("truncated: {} of {} at offset {} needs {} bytes, but the file ends at {}", what, context, pos_, n,
            file_.size());
  }

  // Rejects a count of items that cannot fit in the rest of the file, before anything is allocated for them.
  void check_count(uint64_t count, uint64_t min_item_bytes, std::string_view what) const {
    const uint64_t left = file_.size() - pos_;
    if (count > left / min_item_bytes)
      error("{} {} ({}) is impossible: at {} or more bytes each, that exceeds the {} bytes left in the file", what,
            count, context, min_item_bytes, left);
  }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, file_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(std::string_view what) {
    const auto length = read<uint64_t>(what);
    need(length, what);
    std::string s(reinterpret_cast<const char*>(file_.data() + pos_), length);
    pos_ += length;
    return s;
  }

  GgufType read_type(std::string_view what) {
    const auto code = read<uint32_t>(what);
    if (code >= kTypeCount) error("unknown {} {} in {}", what, code, context);
    return GgufType(code);
  }

 private:
  const MappedFile& file_;
  size_t pos_;
};

int64_t read_integer(Reader& in, GgufType type) {
  switch (type) {
    case GgufType::UINT8: return in.read<uint8_t>("uint8 value");
    case GgufType::INT8: return in.read<int8_t>("int8 value");
    case GgufType::UINT16: return in.read<uint16_t>("uint16 value");
    case GgufType::INT16: return in.read<int16_t>("int16 value");
    case GgufType::UINT32: return in.read<uint32_t>("uint32 value");
    case GgufType::INT32: return in.read<int32_t>("int32 value");
    case GgufType::UINT64: return int64_t(in.read<uint64_t>("uint64 value"));
    case GgufType::INT64: return in.read<int64_t>("int64 value");
    case GgufType::BOOL: {
      const auto b = in.read<uint8_t>("bool value");
      if (b > 1) in.error("invalid bool value {} in {}", b, in.context);
      return b;
    }
    default: WHET_ASSERT(false && "not an integer type");
  }
}

double read_float(Reader& in, GgufType type) {
  return type == GgufType::FLOAT32 ? in.read<float>("float32 value") : in.read<double>("float64 value");
}

template <typename ReadOne>
auto read_items(uint64_t n, ReadOne read_one) {
  std::vector<decltype(read_one())> items;
  items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) items.push_back(read_one());
  return items;
}

GgufValue read_value(Reader& in, GgufType type) {
  GgufValue v;
  v.type = type;
  switch (kind_of(type)) {
    case Kind::Integer: v.value = read_integer(in, type); break;
    case Kind::Float: v.value = read_float(in, type); break;
    case Kind::String: v.value = in.read_string("string"); break;
    case Kind::Array: {
      const GgufType element = v.element_type = in.read_type("array element type");
      if (element == GgufType::ARRAY) in.error("{}: arrays of arrays are not supported", in.context);
      const auto n = in.read<uint64_t>("array length");
      in.check_count(n, encoded_size(element), "array length");
      switch (kind_of(element)) {
        case Kind::Integer: v.value = read_items(n, [&] { return read_integer(in, element); }); break;
        case Kind::Float: v.value = read_items(n, [&] { return read_float(in, element); }); break;
        default: v.value = read_items(n, [&] { return in.read_string("string"); }); break;
      }
    }
  }
  return v;
}

void read_metadata(Reader& in, uint64_t count, std::map<std::string, GgufValue>& metadata) {
  in.check_count(count, 8 + 4 + 1, "metadata entry count");
  for (uint64_t i = 0; i < count; ++i) {
    in.context = fmt::format("metadata entry {}", i);
    std::string key = in.read_string("key");
    in.context = fmt::format("key '{}'", key);
    GgufValue value = read_value(in, in.read_type("value type"));
    if (!metadata.emplace(key, std::move(value)).second) in.error("duplicate metadata key '{}'", key);
  }
}

// Sets shape (outermost first: GGUF's ne[] is innermost first) and nbytes, rejecting sizes that overflow.
void set_shape(const Reader& in, TensorView& t, const std::vector<uint64_t>& ne, uint64_t file_size) {
  const DTypeInfo& info = dtype_info(t.dtype);
  uint64_t numel = 1;
  for (uint64_t d : ne) {
    if (d > uint64_t(std::numeric_limits<int64_t>::max()) || (d != 0 && numel > uint64_t(std::numeric_limits<int64_t>::max()) / d))
      in.error("tensor '{}': element count of ne [{}] overflows", t.name, fmt::join(ne, ", "));
    numel *= d;
  }
  if (ne[0] % info.block_elems != 0)
    in.error("tensor '{}': row length {} is not a multiple of the {} block size {}", t.name, ne[0], info.name,
             info.block_elems);
  const uint64_t blocks = numel / info.block_elems;
  if (blocks > file_size / info.block_bytes)
    in.error("tensor '{}': data of ne [{}] as {} exceeds the file size {}", t.name, fmt::join(ne, ", "), info.name,
             file_size);
  t.nbytes = blocks * info.block_bytes;
  t.shape.assign(ne.rbegin(), ne.rend());
}

// Reads one tensor info; returns the tensor's offset within the data section.
uint64_t read_tensor_info(Reader& in, TensorView& t, uint64_t file_size) {
  t.name = in.read_string("tensor name");
  in.context = fmt::format("tensor '{}'", t.name);
  const auto n_dims = in.read<uint32_t>("dimension count");
  if (n_dims < 1 || n_dims > kMaxDims) in.error("tensor '{}' has {} dimensions (expected 1 to {})", t.name, n_dims, kMaxDims);
  std::vector<uint64_t> ne(n_dims);
  for (uint64_t& d : ne) d = in.read<uint64_t>("dimension size");
  const auto code = in.read<uint32_t>("tensor type");
  const std::optional<DType> dtype = dtype_from_code(code);
  if (!dtype)
    in.error("unknown tensor type {} for tensor '{}' (supported ggml types: {})", code, t.name, supported_type_names());
  t.dtype = *dtype;
  const auto offset = in.read<uint64_t>("data offset");
  set_shape(in, t, ne, file_size);
  return offset;
}

void place_data(const MappedFile& file, TensorView& t, uint64_t data_start, uint64_t offset, uint64_t alignment) {
  if (offset % alignment != 0)
    fail(file.path(), "tensor '{}': data offset {} is not a multiple of the alignment {}", t.name, offset, alignment);
  const uint64_t size = file.size();
  if (data_start > size || offset > size - data_start || t.nbytes > size - data_start - offset)
    fail(file.path(), "tensor '{}': data (offset {} in the data section at {}, {} bytes) extends past end of file (size {})",
         t.name, offset, data_start, t.nbytes, size);
  t.data = file.data() + data_start + offset;
}

void check_magic(const MappedFile& file) {
  if (file.size() == 0) fail(file.path(), "not a GGUF file: the file is empty");
  const size_t n = std::min<size_t>(file.size(), 4);
  if (n == 4 && std::memcmp(file.data(), "GGUF", 4) == 0) return;
  std::string seen;
  for (size_t i = 0; i < n; ++i) seen += fmt::format("{}{:02x}", i ? " " : "", file.data()[i]);
  fail(file.path(), "not a GGUF file (magic {}, expected 47 47 55 46 \"GGUF\")", seen);
}

uint64_t checked_alignment(const std::string& path, int64_t alignment) {
  if (alignment <= 0 || !std::has_single_bit(uint64_t(alignment)))
    fail(path, "{} {} is not a power of two", kAlignmentKey, alignment);
  return uint64_t(alignment);
}

// Looks up `key` and returns its value if `accepts` it; otherwise throws naming what was expected.
template <typename Accepts>
const GgufValue& checked_value(const GgufFile& g, const std::string& key, std::string_view expected, Accepts accepts) {
  const auto it = g.metadata.find(key);
  if (it == g.metadata.end()) fail(g.path(), "missing metadata key '{}'", key);
  if (!accepts(it->second)) fail(g.path(), "metadata key '{}' is {}, expected {}", key, describe(it->second), expected);
  return it->second;
}

bool is_integer(GgufType t) { return kind_of(t) == Kind::Integer; }
bool is_float(GgufType t) { return kind_of(t) == Kind::Float; }

// --- writing

template <typename T>
const T& held(const GgufValue& v) {
  WHET_ASSERT(std::holds_alternative<T>(v.value));
  return std::get<T>(v.value);
}

template <typename T>
void put(AtomicFile& out, T value) {
  out.write(&value, sizeof(T));
}

void put_string(AtomicFile& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.write(s);
}

// Little-endian: the first bytes of the int64 are the value in the narrower type.
void put_integer(AtomicFile& out, GgufType type, int64_t v) { out.write(&v, encoded_size(type)); }

void put_float(AtomicFile& out, GgufType type, double v) {
  if (type == GgufType::FLOAT32)
    put<float>(out, float(v));
  else
    put<double>(out, v);
}

template <typename T, typename PutOne>
void put_array(AtomicFile& out, const GgufValue& v, PutOne put_one) {
  const auto& items = held<std::vector<T>>(v);
  put<uint64_t>(out, items.size());
  for (const T& item : items) put_one(item);
}

void put_value(AtomicFile& out, const GgufValue& v) {
  WHET_ASSERT(uint32_t(v.type) < kTypeCount);
  put<uint32_t>(out, uint32_t(v.type));
  switch (kind_of(v.type)) {
    case Kind::Integer: return put_integer(out, v.type, held<int64_t>(v));
    case Kind::Float: return put_float(out, v.type, held<double>(v));
    case Kind::String: return put_string(out, held<std::string>(v));
    case Kind::Array: break;
  }
  const GgufType element = v.element_type;
  WHET_ASSERT(uint32_t(element) < kTypeCount && element != GgufType::ARRAY);
  put<uint32_t>(out, uint32_t(element));
  switch (kind_of(element)) {
    case Kind::Integer: return put_array<int64_t>(out, v, [&](int64_t x) { put_integer(out, element, x); });
    case Kind::Float: return put_array<double>(out, v, [&](double x) { put_float(out, element, x); });
    default: return put_array<std::string>(out, v, [&](const std::string& s) { put_string(out, s); });
  }
}

}  // namespace

// --- GgufValue

GgufValue GgufValue::make_string(std::string s) { return {GgufType::STRING, GgufType::UINT32, std::move(s)}; }
GgufValue GgufValue::make_u32(uint32_t v) { return {GgufType::UINT32, GgufType::UINT32, int64_t(v)}; }
GgufValue GgufValue::make_i32(int32_t v) { return {GgufType::INT32, GgufType::UINT32, int64_t(v)}; }
GgufValue GgufValue::make_f32(float v) { return {GgufType::FLOAT32, GgufType::UINT32, double(v)}; }
GgufValue GgufValue::make_bool(bool v) { return {GgufType::BOOL, GgufType::UINT32, int64_t(v)}; }
GgufValue GgufValue::make_strings(std::vector<std::string> v) { return {GgufType::ARRAY, GgufType::STRING, std::move(v)}; }
GgufValue GgufValue::make_i32s(std::vector<int64_t> v) { return {GgufType::ARRAY, GgufType::INT32, std::move(v)}; }
GgufValue GgufValue::make_f32s(std::vector<double> v) { return {GgufType::ARRAY, GgufType::FLOAT32, std::move(v)}; }

// --- GgufFile

GgufFile GgufFile::open(const std::string& path) {
  GgufFile g;
  g.file_ = MappedFile::open(path);
  const MappedFile& file = *g.file_;
  check_magic(file);
  Reader in(file, 4);
  g.version = in.read<uint32_t>("version");
  if (g.version != 2 && g.version != 3) in.error("unsupported GGUF version {} (supported: 2 and 3)", g.version);
  const auto tensor_count = in.read<uint64_t>("tensor count");
  const auto kv_count = in.read<uint64_t>("metadata entry count");
  read_metadata(in, kv_count, g.metadata);
  if (g.has(kAlignmentKey)) g.alignment = checked_alignment(path, g.get_int(kAlignmentKey));

  in.context = "tensor infos";
  in.check_count(tensor_count, 8 + 4 + 8 + 4 + 8, "tensor count");  // name length, n_dims, ne[0], type, offset
  std::vector<uint64_t> offsets;
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    in.context = fmt::format("tensor info {}", i);
    TensorView& t = g.tensors.emplace_back();
    offsets.push_back(read_tensor_info(in, t, file.size()));
    if (!names.insert(t.name).second) in.error("duplicate tensor name '{}'", t.name);
  }
  const uint64_t data_start = align_up(in.pos(), g.alignment);
  for (size_t i = 0; i < g.tensors.size(); ++i) place_data(file, g.tensors[i], data_start, offsets[i], g.alignment);
  return g;
}

const TensorView* GgufFile::find_tensor(const std::string& name) const {
  for (const TensorView& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

int64_t GgufFile::get_int(const std::string& key) const {
  return std::get<int64_t>(
      checked_value(*this, key, "an integer", [](const GgufValue& v) { return is_integer(v.type); }).value);
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& v = checked_value(*this, key, "a number", [](const GgufValue& v) {
    return is_float(v.type) || (is_integer(v.type) && v.type != GgufType::BOOL);
  });
  if (is_float(v.type)) return std::get<double>(v.value);
  const int64_t i = std::get<int64_t>(v.value);
  return v.type == GgufType::UINT64 ? double(uint64_t(i)) : double(i);
}

bool GgufFile::get_bool(const std::string& key) const {
  return std::get<int64_t>(
             checked_value(*this, key, "a bool", [](const GgufValue& v) { return v.type == GgufType::BOOL; }).value) != 0;
}

const std::string& GgufFile::get_string(const std::string& key) const {
  return std::get<std::string>(
      checked_value(*this, key, "a string", [](const GgufValue& v) { return v.type == GgufType::STRING; }).value);
}

const std::vector<std::string>& GgufFile::get_strings(const std::string& key) const {
  return std::get<std::vector<std::string>>(checked_value(*this, key, "an array of strings", [](const GgufValue& v) {
    return v.type == GgufType::ARRAY && v.element_type == GgufType::STRING;
  }).value);
}

const std::vector<int64_t>& GgufFile::get_ints(const std::string& key) const {
  return std::get<std::vector<int64_t>>(checked_value(*this, key, "an array of integers", [](const GgufValue& v) {
    return v.type == GgufType::ARRAY && is_integer(v.element_type);
  }).value);
}

const std::vector<double>& GgufFile::get_floats(const std::string& key) const {
  return std::get<std::vector<double>>(checked_value(*this, key, "an array of floats", [](const GgufValue& v) {
    return v.type == GgufType::ARRAY && is_float(v.element_type);
  }).value);
}

int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
double GgufFile::get_float(const std::string& key, double fallback) const { return has(key) ? get_float(key) : fallback; }
bool GgufFile::get_bool(const std::string& key, bool fallback) const { return has(key) ? get_bool(key) : fallback; }
std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

// --- GgufWriter

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [existing, old] : metadata_) {
    if (existing == key) {
      old = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                            size_t nbytes) {
  TensorView t{name, dtype, std::move(shape), static_cast<const uint8_t*>(data), nbytes};
  WHET_ASSERT(!t.shape.empty() && t.shape.size() <= kMaxDims);
  WHET_ASSERT(t.shape.back() % dtype_info(dtype).block_elems == 0);
  WHET_ASSERT(nbytes == dtype_bytes(dtype, t.numel()));
  WHET_ASSERT(std::none_of(tensors_.begin(), tensors_.end(), [&](const TensorView& o) { return o.name == name; }));
  tensors_.push_back(std::move(t));
}

void GgufWriter::write(const std::string& path) const {
  uint64_t alignment = kDefaultAlignment;
  for (const auto& [key, value] : metadata_)
    if (key == kAlignmentKey) alignment = checked_alignment(path, held<int64_t>(value));

  AtomicFile out(path);
  out.write("GGUF");
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    put_string(out, key);
    put_value(out, value);
  }
  uint64_t offset = 0;
  for (const TensorView& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, uint32_t(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) put<uint64_t>(out, uint64_t(*d));
    put<uint32_t>(out, code_from_dtype(t.dtype));
    put<uint64_t>(out, offset);
    offset = align_up(offset + t.nbytes, alignment);
  }
  for (const TensorView& t : tensors_) {
    out.pad_to(alignment);  // the data section starts aligned, so file alignment is offset alignment
    out.write(t.data, t.nbytes);
  }
  out.commit();
}

}  // namespace whet
