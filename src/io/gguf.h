#pragma once
// GGUF v2/v3 reader and writer (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
// The reader maps the file and validates every length and offset against the
// file size before it is used; a hostile file yields whet::Error, never UB.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "io/tensor_view.h"

namespace whet {

// GGUF metadata value type codes, as in the specification.
enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

struct GgufValue {
  GgufType type = GgufType::UINT32;
  GgufType element_type = GgufType::UINT32;  // for ARRAY
  // Scalars of integer/bool type are held as int64 (uint64 > INT64_MAX as its bit pattern),
  // floats as double, strings as string; arrays in the matching vector.
  std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>,
               std::vector<std::string>>
      value;

  static GgufValue make_string(std::string s);
  static GgufValue make_u32(uint32_t v);
  static GgufValue make_i32(int32_t v);
  static GgufValue make_f32(float v);
  static GgufValue make_bool(bool v);
  static GgufValue make_strings(std::vector<std::string> v);
  static GgufValue make_i32s(std::vector<int64_t> v);
  static GgufValue make_f32s(std::vector<double> v);
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path);  // throws whet::Error "[path] ..."

  uint32_t version = 0;
  uint64_t alignment = 32;
  std::map<std::string, GgufValue> metadata;
  std::vector<TensorView> tensors;  // in file order; shape outermost-first

  const std::string& path() const { return file_->path(); }
  const TensorView* find_tensor(const std::string& name) const;
  bool has(const std::string& key) const { return metadata.count(key) != 0; }

  // Typed getters: throw whet::Error naming the file and key when missing or of the wrong type.
  // get_int accepts any integer or bool type; get_float accepts float or integer types.
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  const std::vector<int64_t>& get_ints(const std::string& key) const;
  const std::vector<double>& get_floats(const std::string& key) const;
  // Same, with a default when the key is absent (a present key of the wrong type still throws).
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;

 private:
  std::shared_ptr<MappedFile> file_;
};

// Collects metadata and tensors, then writes a GGUF v3 file atomically
// (temporary file, then rename). Tensor data is copied at write() time from the
// given pointers, which must stay valid until then.
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);  // keeps insertion order; replaces existing key
  // shape outermost-first, as TensorView; nbytes must equal dtype_bytes(dtype, numel).
  void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                  size_t nbytes);
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<TensorView> tensors_;
};

}  // namespace whet
