#include "data/jsonl_reader.h"

#include "core/utf8.h"
#include "data/line_reader.h"

namespace whet {
namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\f\v") == std::string_view::npos; }

// JSON strings would catch invalid UTF-8 too, but not in keys and numbers.
void check_utf8(std::string_view line, const std::string& where) {
  if (const std::optional<size_t> bad = invalid_utf8_at(line))
    fail(where, "invalid UTF-8 at byte {} (0x{:02x})", *bad + 1, static_cast<unsigned char>(line[*bad]));
}

}  // namespace

void scan_jsonl(const std::string& path, DataFormat format, const JsonlVisitor& visitor) {
  LineReader lines(path);
  std::string line;
  bool too_long = false;
  while (lines.next(line, too_long)) {
    const size_t number = lines.line_number();
    if (!too_long && is_blank(line)) {
      visitor.on_blank();
      continue;
    }
    Example example;
    try {
      const std::string where = fmt::format("{}:{}", path, number);
      if (too_long) fail(where, "line longer than {} bytes", kMaxLineBytes);
      check_utf8(line, where);
      example = parse_example(line, format, path, number);
    } catch (const Error& e) {
      visitor.on_error(e, number);
      continue;
    }
    visitor.on_example(std::move(example), number);
  }
}

std::vector<Example> read_examples(const std::string& path, const DataOptions& options, DataStats& stats) {
  std::vector<Example> examples;
  scan_jsonl(path, options.format,
             {[&](Example&& example, size_t) {
                ++stats.lines;
                examples.push_back(std::move(example));
              },
              [&](const Error& error, size_t line) {
                ++stats.lines;
                if (options.strict) throw error;
                stats.skip(path, line, error);
              },
              [&] {
                ++stats.lines;
                ++stats.blank_lines;
              }});
  return examples;
}

void ValidationReport::add_example(DataFormat format) {
  ++lines;
  ++examples[size_t(format)];
}

void ValidationReport::add_error(const std::string& error, size_t max_errors) {
  ++lines;
  if (error_count++ < max_errors) errors.push_back(error);
}

void ValidationReport::add_blank() {
  ++lines;
  ++blank;
}

ValidationReport validate_jsonl(const std::string& path, DataFormat format, size_t max_errors) {
  ValidationReport report;
  scan_jsonl(path, format,
             {[&](Example&& example, size_t) { report.add_example(example.format); },
              [&](const Error& error, size_t) { report.add_error(error.what(), max_errors); },
              [&] { report.add_blank(); }});
  return report;
}

}  // namespace whet
