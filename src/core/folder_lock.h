#pragma once
// A folder that one process at a time may work in (a server's data folder, a
// study's folder): an exclusive flock on FOLDER/.lock, held while this object
// lives. The kernel drops the lock with the process, so a process killed with
// SIGKILL leaves none behind, and whoever holds it knows that no other process
// is half-way through the folder's work.
#include <string>

namespace whet {

class FolderLock {
 public:
  // `user` names the program for the refusal: "[dir] another whet serve is using this folder".
  FolderLock(const std::string& dir, const std::string& user);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_;
};

}  // namespace whet
