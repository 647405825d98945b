#pragma once
// `whet data validate`: every line of a source checked exactly as `whet train`
// (JSONL) or `whet data prepare` (CSV/TSV, text, Markdown) will read it, with
// each error on its line.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/pipeline/pipeline_config.h"
#include "data/pipeline/record.h"

namespace whet {

// Reads config.sources[0] a record at a time: on_record for each record (with
// its label when config.label_field names a field of its own), on_error for each
// line or row that does not read, as "[file:line] problem", and on_blank for
// each blank JSONL line (other readers skip blanks). Throws whet::Error for what
// is wrong with the source as a whole (a missing file, a CSV header without a
// mapped column).
struct SourceVisitor {
  std::function<void(Record&&)> on_record;
  std::function<void(const std::string& error)> on_error;
  std::function<void()> on_blank;
};
void scan_source(const PipelineConfig& config, const SourceVisitor& visitor);

struct ValidationReport {
  size_t lines = 0, blank = 0;                      // lines: records, errors and blank lines
  std::array<size_t, kDataFormatCount> examples{};  // by DataFormat
  std::vector<std::string> errors;                  // "[file:line] problem", the first max_errors
  size_t error_count = 0;
};

ValidationReport validate_source(const PipelineConfig& config, size_t max_errors = 100);
// A JSONL file in UTF-8.
ValidationReport validate_file(const std::string& path, DataFormat format, size_t max_errors = 100);

}  // namespace whet
