#pragma once
// `whet data prepare`: the stages in order (read, normalize, pii, filter, dedup,
// split, leakage, mix, augment), then the outputs. Every stage reports through
// the ledger; a stage is a function over the records, so a new one (such as a
// model-based synthesis stage) is one more call in run_pipeline.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "data/pipeline/leakage.h"
#include "data/pipeline/ledger.h"
#include "data/pipeline/pipeline_config.h"
#include "data/pipeline/split.h"
#include "data/pipeline/token_counter.h"

namespace whet {

struct PipelineOptions {
  bool strict = false;                   // a malformed line or a leak fails the run
  std::string output_dir;                // overrides the config's output_dir when not empty
  const TokenCounter* counter = nullptr;  // overrides the config's model when set
  std::function<void(const std::string&)> on_message;  // one line per stage done
};

struct OutputFile {
  std::string name;  // relative to the output folder
  size_t records = 0;
  uint64_t bytes = 0;
  uint64_t hash = 0;  // XXH3-64 of the contents
};

struct PipelineResult {
  std::string output_dir;
  Ledger ledger;
  SplitRecords splits;
  std::vector<Leak> leaks;
  std::vector<OutputFile> outputs;
  bool token_lengths = false;  // Record::tokens counted (a model was given)
};

// Runs the pipeline and writes into the output folder: train.jsonl (and
// validation.jsonl, test.jsonl when the split asks for them), trace.jsonl,
// manifest.json, report.md and report.html, each written atomically. Throws
// whet::Error for a bad source, and with strict for malformed lines and leaks.
PipelineResult run_pipeline(const PipelineConfig& config, const PipelineOptions& options);

}  // namespace whet
