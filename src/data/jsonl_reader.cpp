#include "data/jsonl_reader.h"

#include <algorithm>
#include <optional>

#include "core/utf8.h"
#include "data/detect_format.h"
#include "data/line_reader.h"
#include "data/preference_example.h"
#include "data/prompt_dataset.h"

namespace whet {
namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\f\v") == std::string_view::npos; }

// JSON strings would catch invalid UTF-8 too, but not in keys and numbers.
void check_utf8(std::string_view line, const std::string& where) {
  if (const std::optional<size_t> bad = invalid_utf8_at(line))
    fail(where, "invalid UTF-8 at byte {} (0x{:02x})", *bad + 1, static_cast<unsigned char>(line[*bad]));
}

// One line as every reader takes it: blank to on_blank, others to on_line, a whet::Error to on_error.
void take_line(std::string_view line, size_t number, bool too_long, const std::string& name,
               const JsonlLines& lines) {
  try {
    if (too_long) fail(fmt::format("{}:{}", name, number), "line longer than {} bytes", kMaxLineBytes);
    if (is_blank(line)) {
      if (lines.on_blank) lines.on_blank();
      return;
    }
    lines.on_line(line, number);
  } catch (const Error& e) {
    lines.on_error(e, number);
  }
}

// Where the lines come from: a file on disk or text in memory (`text`, then `name` is only its name).
struct Lines {
  const std::string& name;
  std::optional<std::string_view> text;
};

void for_each_line(const Lines& source, const JsonlLines& lines) {
  if (source.text) {
    for_each_jsonl_line_in_text(*source.text, source.name, lines);
  } else {
    for_each_jsonl_line(source.name, source.name, lines);
  }
}

void read_records(const Lines& source, bool strict, LineAccount& account, const JsonlRecordTaker& take) {
  const std::string& name = source.name;
  for_each_line(source, {[&](std::string_view line, size_t number) {
                           check_utf8(line, fmt::format("{}:{}", name, number));
                           take(line, number);
                           ++account.lines;
                         },
                         [&](const Error& error, size_t line) {
                           ++account.lines;
                           if (strict) throw error;
                           account.skip(name, line, error);
                         },
                         [&] {
                           ++account.lines;
                           ++account.blank_lines;
                         },
                         {}});
}

std::vector<Example> read(const Lines& source, const DataOptions& options, DataStats& stats) {
  std::vector<Example> examples;
  read_records(source, options.strict, stats, [&](std::string_view line, size_t number) {
    examples.push_back(parse_example(line, options.format, source.name, number));
  });
  return examples;
}

}  // namespace

void for_each_jsonl_line(const std::string& path, const std::string& name, const JsonlLines& lines) {
  LineReader reader(path);
  if (lines.on_progress) lines.on_progress(0);
  std::string line;
  bool too_long = false;
  while (reader.next(line, too_long)) {
    if (lines.on_progress) lines.on_progress(reader.bytes_read());
    take_line(line, reader.line_number(), too_long, name, lines);
  }
}

void for_each_jsonl_line_in_text(std::string_view text, const std::string& name, const JsonlLines& lines) {
  size_t number = 0;
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    take_line(line, ++number, false, name, lines);
  }
}

void read_jsonl_records(const std::string& path, bool strict, LineAccount& account, const JsonlRecordTaker& take) {
  read_records(Lines{path, std::nullopt}, strict, account, take);
}

std::vector<Example> read_examples(const std::string& path, const DataOptions& options, DataStats& stats) {
  return read(Lines{path, std::nullopt}, options, stats);
}

std::vector<Example> read_examples_in_text(std::string_view text, const std::string& name, const DataOptions& options,
                                           DataStats& stats) {
  return read(Lines{name, text}, options, stats);
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

DataFormat check_data_line(std::string_view json_line, DataFormat format, const std::string& file, size_t line) {
  const DataFormat detected = line_format(json_line, format, fmt::format("{}:{}", file, line));
  if (detected == DataFormat::Prompt) {
    check_prompt_line(json_line, fmt::format("{}:{}", file, line));
  } else if (is_preference_format(detected)) {
    parse_preference_line(json_line, detected, file, line);
  } else {
    parse_example(json_line, detected, file, line);
  }
  return detected;
}

ValidationReport validate_jsonl(const std::string& path, DataFormat format, size_t max_errors) {
  ValidationReport report;
  for_each_jsonl_line(path, path,
                      {[&](std::string_view line, size_t number) {
                         check_utf8(line, fmt::format("{}:{}", path, number));
                         report.add_example(check_data_line(line, format, path, number));
                       },
                       [&](const Error& error, size_t) { report.add_error(error.what(), max_errors); },
                       [&] { report.add_blank(); }, {}});
  return report;
}

}  // namespace whet
