#pragma once
// The output folders `whet data prepare` wrote under the server's data folder
// (docs/data.md, "Outputs"), as the Jobs page shows them: where each is, what
// its manifest says each stage did to the records, and the account of every
// record from trace.jsonl. A folder is one when it holds a manifest.json with
// "whet_data_manifest"; the JSON shapes are those of /v1/data/pipelines.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace whet::serve {

// Folders are looked for this deep below the data folder (DATA/a/b/c/d), so a
// listing never walks a whole tree of run checkpoints.
constexpr int kPipelineSearchDepth = 4;

// The pipeline folders under `data_dir`, relative to it with '/' separators, sorted.
// Symbolic links are not followed; unreadable folders are passed over.
std::vector<std::string> find_pipeline_folders(const std::filesystem::path& data_dir);

// Whether `folder` holds a data manifest.
bool is_pipeline_folder(const std::filesystem::path& folder);

// A folder's line in the list: records in and out, per stage in/out and the
// totals of its dropped/changed/added counts, the outputs with their hashes, the
// leak count, whether report.html is there. An unreadable manifest gives an
// entry with "error" instead.
nlohmann::json pipeline_summary(const std::filesystem::path& folder, const std::string& shown);

// trace.jsonl counted: records, per fate ("train", "validation", "test",
// "dropped"), and the dropped per stage; bad lines counted, with the first one's number.
nlohmann::json trace_account(const std::filesystem::path& trace);

// Whether any of the manifest's outputs has this XXH3-64 (hex, as the manifest writes it).
bool has_output_hash(const nlohmann::json& summary, const std::string& xxh3_64);

}  // namespace whet::serve
