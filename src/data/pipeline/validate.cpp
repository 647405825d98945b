#include "data/pipeline/validate.h"

#include <fmt/format.h>

#include "core/error.h"
#include "data/pipeline/line_reader.h"
#include "data/pipeline/text_encoding.h"

namespace whet {

void scan_jsonl(const std::string& path, DataFormat format, const JsonlVisitor& visitor) {
  LineReader lines(path);
  std::string line;
  bool too_long = false;
  while (lines.next(line, too_long)) {
    const std::string where = fmt::format("{}:{}", path, lines.line_number());
    try {
      if (too_long) fail(where, "line longer than {} bytes", kMaxLineBytes);
      if (line.find_first_not_of(" \t\f\v") == std::string::npos) {
        if (visitor.on_blank) visitor.on_blank();
        continue;
      }
      decode_text(line, Encoding::Utf8, where);  // JSON strings would catch it too, but not in keys and numbers
      visitor.on_example(parse_example(line, format, path, lines.line_number()), line);
    } catch (const Error& e) {
      visitor.on_error(e.what());
    }
  }
}

ValidationReport validate_file(const std::string& path, DataFormat format, size_t max_errors) {
  ValidationReport report;
  scan_jsonl(path, format,
             {[&](Example&& example, const std::string&) {
                ++report.lines;
                ++report.examples[size_t(example.format)];
              },
              [&](const std::string& error) {
                ++report.lines;
                if (report.error_count++ < max_errors) report.errors.push_back(error);
              },
              [&] {
                ++report.lines;
                ++report.blank;
              }});
  return report;
}

}  // namespace whet
