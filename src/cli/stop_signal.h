#pragma once
// Ctrl-C (and, for commands that run as services, SIGTERM) as a request to stop
// cleanly: while a StopOnSignal lives, those signals set the flag a long job
// polls (training checkpoints and returns, a server drains); afterwards they
// kill the process again as usual.
#include <atomic>
#include <csignal>
#include <initializer_list>
#include <vector>

namespace whet::cli {

class StopOnSignal {
 public:
  explicit StopOnSignal(std::initializer_list<int> signals = {SIGINT});
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  // Set once a signal arrived; one flag for the process, as signals are.
  const std::atomic<bool>& requested() const;

 private:
  std::vector<int> signals_;
};

}  // namespace whet::cli
