#pragma once
// A scratch file for data that must outlive a pass but need not stay in memory:
// bytes are appended and read back by offset, as the page cache sees fit.
// The file is created unlinked (O_TMPFILE), so no crash leaves it behind and
// it never shows in the folder it lives in.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace whet {

class SpillFile {
 public:
  // In `dir`, which should be on the disk the outputs go to: /tmp may be memory.
  // Throws whet::Error naming the folder when it cannot hold a file.
  explicit SpillFile(const std::string& dir);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  uint64_t append(std::string_view bytes);  // returns the offset it starts at
  // Fills out[0, n) from offset; safe from several threads at once.
  void read(uint64_t offset, void* out, size_t n) const;
  uint64_t size() const { return size_; }

 private:
  std::string dir_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace whet
