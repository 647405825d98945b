#pragma once
// `whet data stats` and `whet data validate` read one file or folder given by
// flags instead of a pipeline YAML. The flags become a one-source
// PipelineConfig, so both commands read exactly what `whet data prepare` would.
#include <string>
#include <vector>

#include "prepare/pipeline_config.h"

namespace whet {

struct SourceFlags {
  std::string path;
  std::string type;                  // jsonl, csv, tsv, text, markdown; empty: from the extension (a folder: text)
  std::vector<std::string> columns;  // each "FIELD=COLUMN[,FIELD=COLUMN...]"
  std::string encoding = "utf-8";    // utf-8, latin-1, utf-8-or-latin-1
  std::string format = "auto";       // as --format of `whet train`, for JSONL lines and CSV rows
  bool paragraphs = false;           // text/markdown: a record per paragraph
};

// The config reading flags.path with label_field (empty: unlabelled), which
// --columns may map besides the training fields. Throws whet::Error naming the
// file or the flag: a missing path, a folder read as anything but text, an
// unknown field, --columns on anything but CSV/TSV or missing for them.
PipelineConfig single_source_config(const SourceFlags& flags, const std::string& label_field);

}  // namespace whet
