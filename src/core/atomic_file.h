#pragma once
// Output that never leaves a half-written file behind: everything goes to
// "<path>.tmp.<pid>", which is flushed, fsynced and renamed over <path> on commit().
// Destroying an uncommitted AtomicFile removes the temporary file.
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace whet {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws whet::Error naming the path
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void pad_to(size_t alignment, uint8_t byte = 0);  // zero-fill up to a multiple of alignment
  size_t offset() const { return offset_; }
  void commit();

 private:
  std::string path_, tmp_path_;
  std::FILE* file_ = nullptr;
  size_t offset_ = 0;
};

// Writes a whole small file atomically.
void write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace whet
