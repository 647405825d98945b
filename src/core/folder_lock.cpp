#include "core/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"

namespace whet {

FolderLock::FolderLock(const std::string& dir, const std::string& user)
    : fd_(::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (fd_ < 0) fail(dir, "cannot create the lock file .lock");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fail(dir, "another {} is using this folder", user);
  }
}

FolderLock::~FolderLock() { ::close(fd_); }

}  // namespace whet
