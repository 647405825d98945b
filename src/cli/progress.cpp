#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

namespace whet::cli {

namespace {

std::string duration_text(double seconds) {
  const int64_t s = int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// A plain-output line at most this often, so logs of long runs stay readable.
constexpr double kPlainEverySeconds = 10.0;

}  // namespace

ProgressLine::ProgressLine(std::string label)
    : label_(std::move(label)), tty_(::isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

void ProgressLine::update(int64_t done, int64_t total, const std::string& details, std::optional<double> eta_seconds) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = eta_seconds ? *eta_seconds : done > 0 ? elapsed / double(done) * double(total - done) : 0.0;
  const std::string counts = fmt::format("{} {}/{}", label_, done, total);
  const std::string tail = fmt::format("{}  {} elapsed, ETA {}", details, duration_text(elapsed), duration_text(eta));
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = total > 0 ? int(kWidth * done / total) : 0;
    std::fprintf(stderr, "\r\033[K%s [%s%s] %s", counts.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), tail.c_str());
    drawn_ = true;
  } else if (done == total || done <= 1 || std::chrono::duration<double>(now - last_plain_).count() >= kPlainEverySeconds) {
    std::fprintf(stderr, "%s %s\n", counts.c_str(), tail.c_str());
    last_plain_ = now;
  }
  std::fflush(stderr);
}

void ProgressLine::message(const std::string& line) {
  if (drawn_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  drawn_ = false;
}

void ProgressLine::finish() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace whet::cli
