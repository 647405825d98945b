#pragma once
// A progress line for long jobs: redrawn in place on a terminal, printed as
// plain lines at a steady pace when the output goes to a file or a pipe.
#include <chrono>
#include <optional>
#include <string>

namespace whet::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  // Shows done/total with a bar, the given details ("loss 1.23 lr 2e-4") and the
  // ETA: `eta_seconds` when the caller measured it, else the time since the
  // line began per item done, times the items left.
  void update(int64_t done, int64_t total, const std::string& details,
              std::optional<double> eta_seconds = std::nullopt);
  // Prints a line of its own without breaking the bar.
  void message(const std::string& line);
  void finish();

 private:
  std::string label_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_plain_;
};

}  // namespace whet::cli
