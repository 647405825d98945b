#pragma once
// The manifest says exactly what a run did, so that it can be checked and
// repeated: the config with every value resolved, a hash of each input file,
// the counts of every stage with reasons, a hash of each output, the seed. It
// holds no times and no absolute paths of the output, so a rerun writes the
// same bytes.
#include <cstdint>
#include <string>

#include "prepare/pipeline.h"

namespace whet {

struct FileHash {
  uint64_t bytes = 0, hash = 0;  // XXH3-64
};
FileHash hash_file(const std::string& path);  // streams the file; throws whet::Error naming it

std::string manifest_json(const PipelineConfig& config, const PipelineResult& result);

}  // namespace whet
