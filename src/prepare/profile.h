#pragma once
// `whet data stats`: a profile of one source (JSONL, CSV/TSV, text or Markdown)
// before training on it: counts per format, lengths (in tokens with a model,
// else in characters), label balance, exact and near duplicates, the scripts
// the text is written in, and personal data found. It streams: per record only
// numbers are kept (a length, a hash, a MinHash signature), never the text.
#include <array>
#include <map>
#include <string>
#include <vector>

#include "data/example.h"
#include "io/document.h"
#include "prepare/pipeline_config.h"
#include "prepare/token_counter.h"

namespace whet {

// Labels are counted per value, and a label field that holds free text (say
// completion on generated answers) would keep every record's text: past this
// many values, new ones count together as kOtherLabels.
constexpr size_t kMaxLabels = 256;
constexpr size_t kMaxLabelBytes = 80;
constexpr const char* kOtherLabels = "(other labels)";

struct DataProfile {
  std::string path;
  SourceType type = SourceType::Jsonl;
  size_t lines = 0, blank = 0, records = 0;  // lines and blank lines: JSONL only
  std::array<size_t, kDataFormatCount> formats{};
  std::vector<std::string> errors;  // the first few malformed lines or rows
  size_t error_count = 0;
  std::vector<size_t> lengths;  // per record
  bool token_lengths = false;
  std::map<std::string, size_t> labels;  // at most kMaxLabels, each cut to kMaxLabelBytes
  size_t exact_duplicates = 0;  // records whose text (by XXH3-64) an earlier record already had
  size_t near_duplicates = 0;   // other records that are near duplicates of an earlier one (Jaccard >= 0.8)
  size_t ascii_only = 0;        // records with nothing but ASCII
  std::map<std::string, size_t> scripts;  // records by the script most of their letters are in
  std::map<std::string, size_t> pii;      // hits per type
  size_t records_with_pii = 0;
};

// The script most letters of the text are in ("Latin", "Cyrillic", "Han", ...; "none" without letters).
std::string dominant_script(std::string_view text);

// config.sources[0], labelled by config.label_field (a JSON key, a mapped
// column, or completion/output; records without one count as "(none)").
// Lengths are in the counter's tokens, or in characters without one.
DataProfile profile_source(const PipelineConfig& config, const TokenCounter* counter);
Document profile_document(const DataProfile& profile);
std::string profile_json(const DataProfile& profile);

}  // namespace whet
