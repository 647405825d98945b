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

void for_each_jsonl_line(const std::string& path, const std::string& name, const JsonlLines& lines) {
  LineReader reader(path);
  if (lines.on_progress) lines.on_progress(0);
  std::string line;
  bool too_long = false;
  while (reader.next(line, too_long)) {
    if (lines.on_progress) lines.on_progress(reader.bytes_read());
    const size_t number = reader.line_number();
    try {
      if (too_long) fail(fmt::format("{}:{}", name, number), "line longer than {} bytes", kMaxLineBytes);
      if (is_blank(line)) {
        if (lines.on_blank) lines.on_blank();
        continue;
      }
      lines.on_line(line, number);
    } catch (const Error& e) {
      lines.on_error(e, number);
    }
  }
}

void scan_jsonl(const std::string& path, DataFormat format, const JsonlVisitor& visitor) {
  for_each_jsonl_line(path, path,
                      {[&](std::string_view line, size_t number) {
                         check_utf8(line, fmt::format("{}:{}", path, number));
                         visitor.on_example(parse_example(line, format, path, number), number);
                       },
                       visitor.on_error, visitor.on_blank, {}});
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
