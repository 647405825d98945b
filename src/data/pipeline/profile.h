#pragma once
// `whet data stats`: a profile of one JSONL file before training on it: counts
// per format, lengths (in tokens with a model, else in characters), label
// balance, exact and near duplicates, the scripts the text is written in, and
// personal data found.
#include <array>
#include <map>
#include <string>
#include <vector>

#include "data/example.h"
#include "data/pipeline/document.h"
#include "data/pipeline/token_counter.h"

namespace whet {

struct ProfileOptions {
  DataFormat format = DataFormat::Auto;
  std::string label_field = "label";  // a JSON key, or completion/output; absent keys count as "(none)"
  const TokenCounter* counter = nullptr;
};

struct DataProfile {
  std::string path;
  size_t lines = 0, blank = 0, records = 0;
  std::array<size_t, kDataFormatCount> formats{};
  std::vector<std::string> errors;  // the first few malformed lines
  size_t error_count = 0;
  std::vector<size_t> lengths;  // per record
  bool token_lengths = false;
  std::map<std::string, size_t> labels;
  size_t exact_duplicates = 0;  // records whose text (by XXH3-64) an earlier record already had
  size_t near_duplicates = 0;   // other records that are near duplicates of an earlier one (Jaccard >= 0.8)
  size_t ascii_only = 0;        // records with nothing but ASCII
  std::map<std::string, size_t> scripts;  // records by the script most of their letters are in
  std::map<std::string, size_t> pii;      // hits per type
  size_t records_with_pii = 0;
};

// The script most letters of the text are in ("Latin", "Cyrillic", "Han", ...; "none" without letters).
std::string dominant_script(std::string_view text);

DataProfile profile_file(const std::string& path, const ProfileOptions& options);
Document profile_document(const DataProfile& profile);
std::string profile_json(const DataProfile& profile);

}  // namespace whet
