#pragma once
// One run folder as the run store sees it (everything but its metrics, which
// track/run_metrics_tail reads): who it is (run.json's id, or one derived from
// its path for runs older than run.json), its status, params (config.yaml
// flattened to dotted keys), lineage, forgetting-gate verdict and artefacts.
// A damaged file does not stop the others from being read: it becomes a
// problem "[file] reason" on the run.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace whet::track {

struct Artefact {
  std::string kind;  // adapter, model, classifier, best, checkpoint, gate, eval_report, report, config, metrics
  std::string path;
  int64_t bytes = 0;  // a folder: the sum of its files
};

struct RunFolder {
  std::string id;      // "run-" + 12 hex
  bool id_from_record = false;  // false: derived from the path (no run.json)
  std::string dir;     // absolute
  std::string name, source, status, method, model;
  std::vector<std::string> data;  // the data files' paths
  int64_t created_at = 0;   // run.json's started_at, else when config.yaml (or the folder) was last written
  nlohmann::json lineage = nlohmann::json::object();  // model_hash, data_hash, config_hash and run.json's details
  nlohmann::json params = nlohmann::json::object();   // {"lora_r": 16, "optimizer.beta1": 0.9, ...}
  nlohmann::json gate;  // gate.json, or null
  // whet eval's JSON reports kept in the folder (eval*.json), each task's results
  // without the per-item predictions: [{"path", "tasks": [{"path", "results": [{"model", "metrics"}]}]}]
  nlohmann::json evaluations = nlohmann::json::array();
  std::vector<Artefact> artefacts;
  std::vector<std::string> problems;
};

// A folder a run wrote into: it has run.json, config.yaml or metrics.jsonl.
bool is_run_folder(const std::string& dir);

// The id of a folder without run.json: "run-" + 12 hex of its absolute path, the same at every sync.
std::string path_run_id(const std::string& dir);

// `source` is what the folder's place says when run.json does not ("cli" under
// runs/, "job" under jobs/).
RunFolder read_run_folder(const std::string& dir, const std::string& source);

// What the folder holds, by name, size and modification time of its files and
// folders: unchanged, the folder need not be read again (its metrics are tailed apart).
std::string folder_signature(const std::string& dir);

// DIR made absolute and normal, without a trailing separator: the one spelling of a folder in the store.
std::string absolute_dir(const std::string& dir);

// This machine's name, as run.json records the host of the process that writes a run.
std::string this_host();

// The file's modification time in seconds since the epoch; 0 when it cannot be read.
double modified_time(const std::string& path);

// {"a": {"b": 1}} -> {"a.b": 1}; lists stay values.
nlohmann::json flatten(const nlohmann::json& object);

}  // namespace whet::track
