#pragma once
// `whet data validate`: every line of a JSONL file checked against the training
// formats exactly as `whet train` will read it, with each error on its line.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"

namespace whet {

// Calls on_example for each line that parses (with the decoded line) and
// on_error for each that does not, with "[file:line] problem". Blank lines are
// counted by the caller through on_blank. Streams the file.
struct JsonlVisitor {
  std::function<void(Example&&, const std::string& line)> on_example;
  std::function<void(const std::string& error)> on_error;
  std::function<void()> on_blank;
};
void scan_jsonl(const std::string& path, DataFormat format, const JsonlVisitor& visitor);

struct ValidationReport {
  size_t lines = 0, blank = 0;
  std::array<size_t, kDataFormatCount> examples{};  // by DataFormat
  std::vector<std::string> errors;                  // "[file:line] problem", the first max_errors
  size_t error_count = 0;
};

ValidationReport validate_file(const std::string& path, DataFormat format, size_t max_errors = 100);

}  // namespace whet
