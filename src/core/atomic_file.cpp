#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace whet {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = fmt::format("{}.tmp.{}", path_, ::getpid());
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) fail(path_, "cannot create: {}", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n) fail(path_, "write failed: {}", std::strerror(errno));
  offset_ += n;
}

void AtomicFile::pad_to(size_t alignment, uint8_t byte) {
  size_t rem = offset_ % alignment;
  if (rem == 0) return;
  std::vector<uint8_t> pad(alignment - rem, byte);
  write(pad.data(), pad.size());
}

void AtomicFile::commit() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    fail(path_, "flush failed: {}", std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    std::remove(tmp_path_.c_str());
    fail(path_, "cannot rename into place: {}", std::strerror(err));
  }
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile out(path);
  out.write(contents);
  out.commit();
}

}  // namespace whet
