#pragma once
// Reads a JSONL training file into examples, one per line, the way files made
// on any system arrive: with or without a UTF-8 BOM, LF or CRLF line endings,
// blank lines in between.
#include <string>
#include <vector>

#include "data/data_options.h"
#include "data/data_stats.h"
#include "data/example.h"

namespace whet {

// Counts lines in `stats`. A malformed line throws whet::Error "[path:line] ..."
// with options.strict; otherwise it is recorded in stats.skipped and left out.
// Uses options.format and options.strict. Throws when the file cannot be read.
std::vector<Example> read_examples(const std::string& path, const DataOptions& options, DataStats& stats);

}  // namespace whet
