#pragma once
// Sources: JSONL in any training format, CSV/TSV with a column mapping, and
// folders of plain text or Markdown, all read a line at a time so that a file's
// size does not matter to the reader. Each line or row becomes a record or a
// rejection with its file, line and reason; none is lost.
#include <functional>
#include <string>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"

namespace whet {

struct SourceSink {
  std::function<void(Record&&)> record;
  // category: a short name to count by ("invalid JSON"); reason: the full message with file:line.
  std::function<void(const std::string& where, const std::string& category, const std::string& reason)> reject;
  // Bytes of the current file read so far, after each line or row; may be empty.
  std::function<void(uint64_t)> advanced;
};

// Reads config.sources[index] into the sink. Throws whet::Error for what is
// wrong with the source as a whole (missing file, CSV header without a mapped
// column); everything wrong with one line goes to sink.reject.
void read_source(const PipelineConfig& config, size_t index, const SourceSink& sink);

// All sources in order, as the "read" stage of the ledger, each record handed
// to on_record as soon as it is read; records get their ids in reading order.
// With strict, the first rejected line throws. Progress is in bytes of all the
// sources' files.
void stream_sources(const PipelineConfig& config, bool strict, Ledger& ledger,
                    const std::function<void(Record&&)>& on_record,
                    const std::function<void(uint64_t, uint64_t)>& progress = {});
// The same, collected.
std::vector<Record> read_sources(const PipelineConfig& config, bool strict, Ledger& ledger);

struct SourceFile {
  std::string path;   // to open
  std::string shown;  // as the config names it (the source path, plus the file within a folder)
};
// The files a source reads: the file itself, or for text and markdown folders
// the files with the type's extensions, recursively, sorted by path.
std::vector<SourceFile> source_files(const PipelineConfig& config, const SourceConfig& source);

}  // namespace whet
