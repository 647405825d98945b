#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/error.h"

namespace whet {

// The header length is a little-endian u64, copied as it is in memory.
static_assert(std::endian::native == std::endian::little);

namespace {

using nlohmann::json;

constexpr uint64_t kLengthBytes = 8;
const std::string kMetadataKey = "__metadata__";
constexpr DType kSupported[] = {DType::F32, DType::F16, DType::BF16, DType::I32};
constexpr std::string_view kSupportedNames = "F32, F16, BF16, I32";

bool is_supported(DType t) { return std::ranges::find(kSupported, t) != std::end(kSupported); }

// A tensor's view and its byte range within the data section.
struct Entry {
  TensorView view;
  uint64_t begin = 0, end = 0;
};

struct Header {
  json entries;
  uint64_t data_start = 0;  // file offset of the data section
};

json parse_json(const std::string& path, const uint8_t* data, size_t size, std::string_view what) {
  const char* text = reinterpret_cast<const char*>(data);
  json parsed;
  try {
    parsed = json::parse(text, text + size);
  } catch (const json::exception& e) {
    fail(path, "malformed JSON {}: {}", what, e.what());
  }
  if (!parsed.is_object()) fail(path, "the JSON {} is a {}, not an object", what, parsed.type_name());
  return parsed;
}

Header read_header(const MappedFile& file) {
  const uint64_t size = file.size();
  if (size < kLengthBytes)
    fail(file.path(), "not a safetensors file: {} bytes, too short for the 8-byte header length", size);
  uint64_t length;
  std::memcpy(&length, file.data(), kLengthBytes);
  if (length > size - kLengthBytes)
    fail(file.path(), "header length {} exceeds the {} bytes that follow it in the file", length, size - kLengthBytes);
  return {parse_json(file.path(), file.data() + kLengthBytes, length, "header"), kLengthBytes + length};
}

const json& array_field(const std::string& path, const std::string& name, const json& entry, const char* field) {
  const auto it = entry.find(field);
  if (it == entry.end() || !it->is_array()) fail(path, "tensor '{}': '{}' is missing or not an array", name, field);
  return *it;
}

uint64_t non_negative(const std::string& path, const std::string& name, const json& value, const char* field) {
  if (!value.is_number_unsigned()) fail(path, "tensor '{}': '{}' must hold non-negative integers, got {}", name, field, value.dump());
  return value.get<uint64_t>();
}

DType entry_dtype(const std::string& path, const std::string& name, const json& entry) {
  const auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string()) fail(path, "tensor '{}': 'dtype' is missing or not a string", name);
  const std::string dtype = it->get<std::string>();
  const std::optional<DType> parsed = dtype_from_name(dtype);
  if (!parsed || !is_supported(*parsed))
    fail(path, "unsupported dtype {} for tensor '{}' (supported: {})", dtype, name, kSupportedNames);
  return *parsed;
}

// Parses one tensor entry, checking that its byte range matches its shape and lies in the data section.
Entry parse_entry(const std::string& path, const std::string& name, const json& json_entry, uint64_t data_size) {
  if (!json_entry.is_object()) fail(path, "tensor '{}': entry is a {}, not an object", name, json_entry.type_name());
  Entry e;
  e.view.name = name;
  e.view.dtype = entry_dtype(path, name, json_entry);
  constexpr uint64_t kMaxElements = uint64_t(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1;
  for (const json& d : array_field(path, name, json_entry, "shape")) {
    const uint64_t dim = non_negative(path, name, d, "shape");
    if (dim > kMaxElements || (dim != 0 && numel > kMaxElements / dim))
      fail(path, "tensor '{}': element count of shape {} overflows", name, json_entry["shape"].dump());
    numel *= dim;
    e.view.shape.push_back(int64_t(dim));
  }
  const json& offsets = array_field(path, name, json_entry, "data_offsets");
  if (offsets.size() != 2) fail(path, "tensor '{}': 'data_offsets' must have 2 entries, not {}", name, offsets.size());
  e.begin = non_negative(path, name, offsets[0], "data_offsets");
  e.end = non_negative(path, name, offsets[1], "data_offsets");
  if (e.begin > e.end) fail(path, "tensor '{}': data_offsets [{}, {}] are out of order", name, e.begin, e.end);
  if (e.end > data_size)
    fail(path, "tensor '{}': data_offsets [{}, {}] extend past the {}-byte data section", name, e.begin, e.end, data_size);
  const uint64_t element_bytes = uint64_t(dtype_info(e.view.dtype).block_bytes);
  if (numel > std::numeric_limits<uint64_t>::max() / element_bytes)
    fail(path, "tensor '{}': {} elements of {} overflow a 64-bit byte count", name, numel, dtype_name(e.view.dtype));
  if (numel * element_bytes != e.end - e.begin)
    fail(path, "tensor '{}': data_offsets [{}, {}] hold {} bytes, but {} elements of {} need {}", name, e.begin,
         e.end, e.end - e.begin, numel, dtype_name(e.view.dtype), numel * element_bytes);
  e.view.nbytes = e.end - e.begin;
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& metadata) {
  if (!metadata.is_object()) fail(path, "'{}' is a {}, not an object of strings", kMetadataKey, metadata.type_name());
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) fail(path, "'{}' key '{}' is a {}, not a string", kMetadataKey, key, value.type_name());
    result[key] = value.get<std::string>();
  }
  return result;
}

// Sorts by byte range; a zero-size tensor may sit where another begins, but no two may share bytes.
void sort_and_check_overlaps(const std::string& path, std::vector<Entry>& entries) {
  std::ranges::sort(entries, {}, [](const Entry& e) { return std::pair(e.begin, e.end); });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry &prev = entries[i - 1], &next = entries[i];
    if (next.begin < prev.end)
      fail(path, "tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev.view.name, prev.begin, prev.end,
           next.view.name, next.begin, next.end);
  }
}

// Shards must sit beside the index: a name that could reach elsewhere is refused.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
}

// weight_map of an index: shard file name -> the tensor names it must hold.
std::map<std::string, std::vector<std::string>> read_shard_index(const std::string& index_path) {
  const auto file = MappedFile::open(index_path);
  const json index = parse_json(index_path, file->data(), file->size(), "index");
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) fail(index_path, "'weight_map' is missing or not an object");
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [name, shard] : weight_map->items()) {
    if (!shard.is_string()) fail(index_path, "weight_map entry for tensor '{}' is a {}, not a file name", name, shard.type_name());
    const std::string shard_name = shard.get<std::string>();
    if (!is_plain_file_name(shard_name))
      fail(index_path, "tensor '{}' maps to shard '{}', which is not a plain file name in the model directory", name,
           shard_name);
    shards[shard_name].push_back(name);
  }
  if (shards.empty()) fail(index_path, "'weight_map' lists no tensors");
  return shards;
}

void check_writable(const std::string& path, const TensorView& t) {
  if (t.name == kMetadataKey) fail(path, "a tensor cannot be named '{}'", kMetadataKey);
  if (!is_supported(t.dtype))
    fail(path, "tensor '{}': cannot write dtype {} (safetensors output supports {})", t.name, dtype_name(t.dtype),
         kSupportedNames);
  if (std::ranges::any_of(t.shape, [](int64_t d) { return d < 0; })) fail(path, "tensor '{}': negative dimension", t.name);
  if (t.nbytes != dtype_bytes(t.dtype, t.numel()))
    fail(path, "tensor '{}': {} bytes of data, but its shape as {} needs {}", t.name, t.nbytes, dtype_name(t.dtype),
         dtype_bytes(t.dtype, t.numel()));
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto file = MappedFile::open(path);
  const Header header = read_header(*file);
  const uint64_t data_size = file->size() - header.data_start;
  SafetensorsFile st;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.entries.items()) {
    if (key == kMetadataKey)
      st.metadata = parse_metadata(path, value);
    else
      entries.push_back(parse_entry(path, key, value, data_size));
  }
  sort_and_check_overlaps(path, entries);
  for (Entry& e : entries) {
    e.view.data = file->data() + header.data_start + e.begin;
    st.tensors.push_back(std::move(e.view));
  }
  st.files_.push_back(std::move(file));
  return st;
}

SafetensorsFile SafetensorsFile::open_dir(const std::string& dir) {
  const std::string single = dir + "/model.safetensors", index_path = single + ".index.json";
  if (std::filesystem::exists(single)) return open(single);
  if (!std::filesystem::exists(index_path)) fail(dir, "no model.safetensors or model.safetensors.index.json");
  SafetensorsFile merged;
  std::unordered_map<std::string, std::string> shard_of;  // tensor name -> shard it was found in
  for (const auto& [shard_name, listed] : read_shard_index(index_path)) {
    SafetensorsFile shard = open(dir + "/" + shard_name);
    for (const std::string& name : listed)
      if (!shard.find_tensor(name)) fail(index_path, "tensor '{}' is listed in shard '{}' but not found there", name, shard_name);
    if (merged.files_.empty()) merged.metadata = std::move(shard.metadata);
    for (TensorView& t : shard.tensors) {
      const auto [it, inserted] = shard_of.emplace(t.name, shard_name);
      if (!inserted) fail(index_path, "tensor '{}' is in both shard '{}' and shard '{}'", t.name, it->second, shard_name);
      merged.tensors.push_back(std::move(t));
    }
    merged.files_.push_back(std::move(shard.files_.front()));
  }
  return merged;
}

const TensorView* SafetensorsFile::find_tensor(const std::string& name) const {
  for (const TensorView& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const TensorView& t : tensors) {
    check_writable(path, t);
    if (header.contains(t.name)) fail(path, "duplicate tensor name '{}'", t.name);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", nlohmann::ordered_json::array({offset, offset + t.nbytes})}};
    offset += t.nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names or metadata that are not valid UTF-8
    fail(path, "cannot encode the header: {}", e.what());
  }
  // Spaces pad the header so that the data section starts 8-byte aligned.
  text.append((kLengthBytes - text.size() % kLengthBytes) % kLengthBytes, ' ');
  const uint64_t length = text.size();
  AtomicFile out(path);
  out.write(&length, sizeof length);
  out.write(text);
  for (const TensorView& t : tensors) out.write(t.data, t.nbytes);
  out.commit();
}

}  // namespace whet
