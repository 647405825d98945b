#pragma once
// Reads a text file one line at a time in constant memory, whatever its size,
// the way files made on any system arrive: with or without a UTF-8 BOM, LF or
// CRLF line endings. A line longer than the limit is reported, not read.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace whet {

constexpr size_t kMaxLineBytes = size_t(64) << 20;

class LineReader {
 public:
  explicit LineReader(std::string path, size_t max_line = kMaxLineBytes);  // throws whet::Error naming the path

  // The next line without its ending; false at the end of the file. `too_long`
  // is set (and the line left empty) when the line exceeds the limit.
  bool next(std::string& line, bool& too_long);
  size_t line_number() const { return number_; }  // of the line last returned, from 1
  const std::string& path() const { return path_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  void fill();

  std::string path_;
  size_t max_line_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::string buffer_;
  size_t start_ = 0;  // first unread byte of buffer_
  size_t number_ = 0;
  uint64_t bytes_read_ = 0;
  bool eof_ = false;
};

}  // namespace whet
