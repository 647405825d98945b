#include "core/spill_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace whet {

SpillFile::SpillFile(const std::string& dir) : dir_(dir) {
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string path = dir + "/.whet-spill-XXXXXX";
    fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(path.c_str());
  }
  if (fd_ < 0) fail(dir, "cannot make a scratch file here: {}", std::strerror(errno));
}

SpillFile::~SpillFile() { ::close(fd_); }

uint64_t SpillFile::append(std::string_view bytes) {
  const uint64_t start = size_;
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, off_t(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(dir_, "writing a scratch file: {}", std::strerror(errno));
    done += size_t(n);
  }
  size_ += bytes.size();
  return start;
}

void SpillFile::read(uint64_t offset, void* out, size_t n) const {
  WHET_ASSERT(offset + n <= size_);
  auto* bytes = static_cast<char*>(out);
  for (size_t done = 0; done < n;) {
    const ssize_t got = ::pread(fd_, bytes + done, n - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) fail(dir_, "reading a scratch file: it ends early");
    if (got < 0) fail(dir_, "reading a scratch file: {}", std::strerror(errno));
    done += size_t(got);
  }
}

}  // namespace whet
