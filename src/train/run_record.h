#pragma once
// OUTPUT/run.json: what a run is and where it came from (its lineage), written
// when the run starts and rewritten, atomically, when it ends. The run tracker
// (track/run_store) reads it to tell runs apart, to say which model, data and
// config made a result, and whether a run is still going.
//
// {"id": "run-3fa2c19e07b4", "name": "zorblax", "source": "cli", "status": "running",
//  "started_at": 1764972000, "finished_at": null, "method": "lora",
//  "model": {"path": "...gguf", "hash": "xxh3:..."}, "data": [{"role": "train", "path", "hash"}],
//  "data_manifest": {"path": ".../manifest.json", "hash"} or null, "data_hash", "config_hash",
//  "whet_version": "0.1.0", "pid": 1234, "host": "box", "error": "..." when failed}
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "train/train_config.h"

namespace whet {

inline constexpr std::string_view kRunRecordFile = "run.json";

// xxh3-64 of a file's bytes as "xxh3:<16 hex>"; a folder hashes its files in name order.
std::string content_hash(const std::string& path);

class RunRecord {
 public:
  // Writes OUTPUT/run.json with status "running". A resumed run keeps the id
  // (and start time) its run.json already holds. `config_yaml` is the resolved
  // config as written beside it; `source` is "cli" or "job".
  RunRecord(const TrainConfig& config, std::string_view config_yaml, std::string_view source, bool resume);
  // "finished", "failed" (with the error) or "interrupted"; written atomically.
  void finish(std::string_view status, std::string_view error = {});
  const nlohmann::json& record() const { return record_; }

 private:
  std::string path_;
  nlohmann::json record_;
};

}  // namespace whet
