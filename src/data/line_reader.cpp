#include "data/line_reader.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace whet {
namespace {

constexpr size_t kBlockBytes = size_t(1) << 20;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

LineReader::LineReader(std::string path, size_t max_line)
    : path_(std::move(path)), max_line_(max_line), file_(std::fopen(path_.c_str(), "rb"), &std::fclose) {
  if (!file_) fail(path_, "cannot open: {}", std::strerror(errno));
}

void LineReader::fill() {
  if (eof_) return;
  buffer_.erase(0, start_);
  start_ = 0;
  const size_t old = buffer_.size();
  buffer_.resize(old + kBlockBytes);
  const size_t n = std::fread(buffer_.data() + old, 1, kBlockBytes, file_.get());
  buffer_.resize(old + n);
  bytes_read_ += n;
  if (n < kBlockBytes) {
    if (std::ferror(file_.get())) fail(path_, "read error: {}", std::strerror(errno));
    eof_ = true;
  }
}

bool LineReader::next(std::string& line, bool& too_long) {
  too_long = false;
  size_t scanned = 0;  // bytes after start_ known to hold no newline
  for (;;) {
    const size_t available = buffer_.size() - start_;
    const char* begin = buffer_.data() + start_;
    const auto* newline = static_cast<const char*>(std::memchr(begin + scanned, '\n', available - scanned));
    if (newline || eof_) {
      if (!newline && available == 0 && !too_long) return false;
      const size_t length = newline ? size_t(newline - begin) : available;
      too_long = too_long || length > max_line_;
      if (too_long) {
        line.clear();
      } else {
        line.assign(begin, length);
      }
      start_ += newline ? length + 1 : length;
      if (++number_ == 1 && line.starts_with(kBom)) line.erase(0, kBom.size());
      if (line.ends_with('\r')) line.pop_back();
      return true;
    }
    if (available > max_line_) {  // memory stays bounded: what we have of this line is dropped
      too_long = true;
      start_ = buffer_.size();
      scanned = 0;
    } else {
      scanned = available;
    }
    fill();
  }
}

}  // namespace whet
