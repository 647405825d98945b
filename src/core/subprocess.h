#pragma once
// Runs an external program with its standard input given and its output
// collected, under a time limit: past it, the program and everything it started
// (its process group) are killed. For graders that call a user's script.
#include <string>
#include <vector>

namespace whet {

struct ProcessResult {
  bool timed_out = false;  // killed at the time limit; exit_status is then meaningless
  int exit_status = 0;     // the exit code, or 128 + the signal that ended it
  std::string out, err;    // at most kMaxProcessOutput bytes each; more is dropped
};

inline constexpr size_t kMaxProcessOutput = size_t(1) << 20;

// argv[0] is looked up in PATH. whet::Error when the program cannot be started
// (exit status 127 from the child means it was not found: reported as such).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input, double timeout_seconds,
                          const std::string& working_dir);

}  // namespace whet
