#pragma once
// `whet data prepare`: the stages of prepare/stages.h in their order, then the
// outputs. Every stage reports through the ledger; a stage is a function over
// the records, or over their keys (dedup, split, leakage). The model-based
// stages run only when the config asks for them, through the models
// options.open_model gives.
//
// Memory holds a batch of records at a time, not the dataset: the per-record
// stages run batch by batch as the sources are read, the records then wait on
// disk in a Spool while dedup, split and leakage work on their keys, and the
// training split is read back a batch at a time through mix and augmentation
// into the outputs. Documents and the unlabelled pool, which a model must read
// anyway, are held whole for the stages that need them together.
#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "prepare/chunker.h"
#include "prepare/leakage.h"
#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/split.h"
#include "prepare/token_counter.h"

namespace whet {

// Records per pass of the per-record stages, and read back at a time: the
// memory a run needs beyond its keys. The outputs depend on it (augmented
// copies follow their batch), so it is a constant, not a knob.
constexpr size_t kPipelineBatch = 4096;

struct PipelineOptions {
  bool strict = false;                   // a malformed line or a leak fails the run
  std::string output_dir;                // overrides the config's output_dir when not empty
  const TokenCounter* counter = nullptr;  // overrides the config's model when set
  std::function<void(const std::string&)> on_message;  // one line per stage done
  // (stage, done, total) while a long stage works: the model-based ones.
  std::function<void(const std::string&, size_t, size_t)> on_progress;
  ModelOpener open_model;  // for synthesize, pseudo_label and model_augment; paths arrive resolved
};

struct OutputFile {
  std::string name;  // relative to the output folder
  size_t records = 0;
  uint64_t bytes = 0;
  uint64_t hash = 0;  // XXH3-64 of the contents
};

// What the report shows of a split's output.
struct SplitSummary {
  std::vector<size_t> lengths;          // per record: tokens when counted, else characters of its text fields
  std::map<std::string, size_t> labels;  // label -> records, when the config names a label field
};

struct PipelineResult {
  std::string output_dir;
  Ledger ledger;
  std::array<SplitSummary, 3> splits;  // by Split
  std::vector<Leak> leaks;
  std::vector<OutputFile> outputs;
  std::vector<Chunk> chunks;  // synthesis: the document chunks the pairs name (chunks.jsonl)
  bool token_lengths = false;  // Record::tokens counted (a model was given)
};

// Runs the pipeline and writes into the output folder: train.jsonl (and
// validation.jsonl, test.jsonl when the split asks for them), trace.jsonl,
// manifest.json, report.md and report.html (and chunks.jsonl after synthesis),
// each written atomically. Throws
// whet::Error for a bad source, and with strict for malformed lines and leaks.
PipelineResult run_pipeline(const PipelineConfig& config, const PipelineOptions& options);

}  // namespace whet
