#pragma once
// The human-readable account of a pipeline run: what each stage did and why,
// the splits with their label balance and length histograms, the leaks, and the
// first dropped records (all of them are in trace.jsonl).
#include "io/document.h"
#include "prepare/pipeline.h"

namespace whet {

Document pipeline_report(const PipelineConfig& config, const PipelineResult& result);

}  // namespace whet
