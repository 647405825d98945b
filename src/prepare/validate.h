#pragma once
// `whet data validate`: every line of a source checked exactly as `whet train`
// (JSONL) or `whet data prepare` (CSV/TSV, text, Markdown) will read it, with
// each error on its line.
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/jsonl_reader.h"
#include "prepare/pipeline_config.h"
#include "prepare/record.h"

namespace whet {

// Reads config.sources[0] a record at a time: on_record for each record (with
// its label when config.label_field names a field of its own), on_error for each
// line or row that does not read, as "[file:line] problem", and on_blank for
// each blank JSONL line (other readers skip blanks). Throws whet::Error for what
// is wrong with the source as a whole (a missing file, a CSV header without a
// mapped column). A JSONL preference, KTO or prompt line is not a record: with
// on_unsupervised set it is checked as its training reads it and its format
// given there (validate); without, it is an error (stats, the pipeline).
struct SourceVisitor {
  std::function<void(Record&&)> on_record;
  std::function<void(const std::string& error)> on_error;
  std::function<void()> on_blank;
  std::function<void(DataFormat format)> on_unsupervised;
};
void scan_source(const PipelineConfig& config, const SourceVisitor& visitor);

ValidationReport validate_source(const PipelineConfig& config, size_t max_errors = 100);

}  // namespace whet
