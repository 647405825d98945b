#pragma once
// Reads a JSONL training file into examples, one per line, the way files made
// on any system arrive: with or without a UTF-8 BOM, LF or CRLF line endings,
// blank lines in between. `whet train` (supervised and preference), `whet data
// validate` and the server's upload check all read through for_each_jsonl_line
// and the same line parsers, so they agree on every line.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/data_options.h"
#include "data/data_stats.h"
#include "data/example.h"

namespace whet {

// The lines of a JSONL file as every reader of one takes them (LineReader:
// BOM, CRLF, a line limit): blank lines go to on_blank; each other line to
// on_line, and a whet::Error from it, or a line over the limit, to on_error
// with the line's number. `name` is how messages name the file. on_progress,
// when set, hears the bytes read so far before each line.
struct JsonlLines {
  std::function<void(std::string_view line, size_t number)> on_line;
  std::function<void(const Error& error, size_t number)> on_error;
  std::function<void()> on_blank;
  std::function<void(uint64_t bytes_read)> on_progress;
};
void for_each_jsonl_line(const std::string& path, const std::string& name, const JsonlLines& lines);
// The same over JSONL text held in memory (a file built into the binary), named `name`.
void for_each_jsonl_line_in_text(std::string_view text, const std::string& name, const JsonlLines& lines);

// The lines of a training file as every reader of training data takes them:
// each non-blank line, checked to be valid UTF-8, goes to `take`, which parses
// and keeps it. A whet::Error from the line or from `take` is thrown with
// `strict`, else the line is recorded in account.skipped and left out; every
// line is counted in `account`. Throws whet::Error when the file cannot be read.
using JsonlRecordTaker = std::function<void(std::string_view line, size_t number)>;
void read_jsonl_records(const std::string& path, bool strict, LineAccount& account, const JsonlRecordTaker& take);

// Counts lines in `stats`. A malformed line throws whet::Error "[path:line] ..."
// with options.strict; otherwise it is recorded in stats.skipped and left out.
// Uses options.format and options.strict. Throws when the file cannot be read.
std::vector<Example> read_examples(const std::string& path, const DataOptions& options, DataStats& stats);
// The same over JSONL text held in memory, named `name` in messages.
std::vector<Example> read_examples_in_text(std::string_view text, const std::string& name, const DataOptions& options,
                                           DataStats& stats);

struct ValidationReport {
  size_t lines = 0, blank = 0;                      // lines: records, errors and blank lines
  std::array<size_t, kDataFormatCount> examples{};  // by DataFormat
  std::vector<std::string> errors;                  // "[file:line] problem", the first max_errors
  size_t error_count = 0;

  void add_example(DataFormat format);
  void add_error(const std::string& error, size_t max_errors);
  void add_blank();
};

// Checks one line as the reader of its format takes it (parse_example,
// parse_preference_line for preference and KTO lines, check_prompt_line for
// prompts) and returns the format;
// `format` Auto detects it. Throws whet::Error "[file:line] ..." as they do.
DataFormat check_data_line(std::string_view json_line, DataFormat format, const std::string& file, size_t line);

// Every line of a JSONL file checked exactly as training (supervised, preference or RL prompts) reads it.
ValidationReport validate_jsonl(const std::string& path, DataFormat format, size_t max_errors = 100);

}  // namespace whet
