#include "track/run_folder.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <array>
#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "eval/gate.h"
#include "io/json_fields.h"
#include "io/yaml_config.h"
#include "train/run_record.h"

namespace whet::track {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {


int64_t bytes_under(const fs::path& path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) return int64_t(fs::file_size(path, error));
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (it->is_regular_file(error)) total += int64_t(it->file_size(error));
  }
  return total;
}

// run.json says "running", but the process that wrote it (on this machine) has
// ended without saying how: killed, or the machine went down.
bool writer_is_gone(const json& record) {
  const int64_t pid = record.value("pid", int64_t(0));
  if (pid <= 0 || record.value("host", "") != this_host()) return false;
  return ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

// The run's own record, when it has one; its details join the lineage.
void read_record(const fs::path& dir, RunFolder& run) {
  const fs::path path = dir / kRunRecordFile;
  if (!fs::exists(path)) return;
  const json record = read_json_object(path.string());
  const Fields fields(path.string(), record);
  run.id = fields.string("id");
  if (run.id.empty()) fail(path.string(), "id: empty");
  run.id_from_record = true;
  run.name = fields.has("name") ? fields.string("name") : run.name;
  run.source = fields.has("source") ? fields.string("source") : run.source;
  run.status = fields.has("status") ? fields.string("status") : run.status;
  if (run.status == "running" && writer_is_gone(record)) run.status = "interrupted";
  run.method = fields.has("method") ? fields.string("method") : run.method;
  run.created_at = int64_t(fields.number("started_at", double(run.created_at)));
  if (fields.has("model")) {
    run.model = record["model"].value("path", "");
    run.lineage["model_hash"] = record["model"].value("hash", "");
  }
  if (fields.has("data")) {
    run.data.clear();
    for (const json& file : fields.array("data")) run.data.push_back(file.value("path", ""));
  }
  for (const char* key : {"data_hash", "config_hash", "whet_version", "data_manifest", "started_at", "finished_at",
                          "error", "host", "pid"}) {
    if (record.contains(key)) run.lineage[key] = record[key];
  }
  if (fields.has("data")) run.lineage["data_files"] = record["data"];
}

// The resolved config.yaml as flat params; without run.json, also the method, model and data.
void read_config(const fs::path& dir, RunFolder& run) {
  const fs::path path = dir / "config.yaml";
  if (!fs::exists(path)) return;
  const std::string text = yaml::read_config_file(path.string());
  run.params = flatten(yaml::yaml_to_json(yaml::parse_document(text, path.string(), "a training config"), path.string()));
  if (run.method.empty() && run.params.contains("method")) {
    const json rl = run.params.value("rl", json("none"));
    const json method = rl.is_string() && rl != "none" ? rl : run.params["method"];
    if (method.is_string()) run.method = method;
  }
  if (run.model.empty() && run.params.contains("base_model") && run.params["base_model"].is_string())
    run.model = run.params["base_model"];
  if (run.data.empty()) {
    for (const char* key : {"train_data", "val_data"}) {
      const json value = run.params.value(key, json());
      if (value.is_string() && !value.get<std::string>().empty()) run.data.push_back(value);
      if (value.is_array())
        for (const json& item : value)
          if (item.is_string()) run.data.push_back(item);
    }
  }
}

// An evaluation report without its per-item predictions: the models' metric values per task.
json evaluation_summary(const fs::path& path) {
  const json report = read_json_object(path.string());
  json tasks = json::array();
  for (const json& task : report.value("tasks", json::array())) {
    json results = json::array();
    for (const json& result : task.value("results", json::array())) {
      json metrics = json::object();
      const json given = result.value("metrics", json::object());
      for (const auto& [name, metric] : given.items())
        metrics[name] = metric.is_object() ? metric.value("value", json()) : metric;
      results.push_back({{"model", result.value("model", "")}, {"metrics", metrics}});
    }
    tasks.push_back({{"path", task.value("path", "")}, {"role", task.value("role", "")}, {"results", results}});
  }
  return {{"path", path.string()}, {"tasks", tasks}};
}

std::string artefact_kind(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  if (entry.is_directory()) {
    for (const char* kind : {"adapter", "model", "classifier", "best"})
      if (name == kind) return kind;
    return "";
  }
  if (name == "gate.json") return "gate";
  if (name == "config.yaml") return "config";
  if (name == "metrics.jsonl") return "metrics";
  if (name.starts_with("eval") && name.ends_with(".json")) return "eval_report";
  if (name.ends_with(".html") || (name.ends_with(".md") && name != "README.md")) return "report";
  return "";
}

void read_artefacts(const fs::path& dir, RunFolder& run) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string kind = artefact_kind(entry);
    if (kind.empty()) continue;
    run.artefacts.push_back({kind, entry.path().string(), bytes_under(entry.path())});
    if (kind == "eval_report") {
      try {
        run.evaluations.push_back(evaluation_summary(entry.path()));
      } catch (const Error& e) {
        run.problems.push_back(e.what());
      }
    }
  }
  const fs::path checkpoints = dir / "checkpoints";
  if (fs::is_directory(checkpoints))
    for (const auto& entry : fs::directory_iterator(checkpoints))
      if (entry.is_directory()) run.artefacts.push_back({"checkpoint", entry.path().string(), bytes_under(entry.path())});
  std::sort(run.artefacts.begin(), run.artefacts.end(),
            [](const Artefact& a, const Artefact& b) { return a.path < b.path; });
}

// A run without run.json: done when its outputs are there.
std::string status_without_record(const RunFolder& run) {
  for (const Artefact& a : run.artefacts)
    if (a.kind == "adapter" || a.kind == "model" || a.kind == "classifier") return "finished";
  return "unknown";
}

// One step of reading a folder; its failure is a problem of the run, not of the sync.
template <typename Read>
void gather(RunFolder& run, Read read) {
  try {
    read();
  } catch (const Error& e) {
    run.problems.push_back(e.what());
  } catch (const std::exception& e) {
    run.problems.push_back(fmt::format("[{}] {}", run.dir, e.what()));
  }
}

}  // namespace

std::string absolute_dir(const std::string& dir) {
  fs::path path = fs::absolute(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.string();
}

std::string this_host() {
  std::array<char, 256> name{};
  return ::gethostname(name.data(), name.size() - 1) == 0 ? std::string(name.data()) : std::string();
}

bool is_run_folder(const std::string& dir) {
  const fs::path path(dir);
  return fs::exists(path / kRunRecordFile) || fs::exists(path / "config.yaml") || fs::exists(path / "metrics.jsonl");
}

std::string path_run_id(const std::string& dir) {
  const std::string path = absolute_dir(dir);
  return fmt::format("run-{:012x}", XXH3_64bits(path.data(), path.size()) & 0xffffffffffffULL);
}

std::string folder_signature(const std::string& dir) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::error_code error;
  for (const fs::path& folder : {fs::path(dir), fs::path(dir) / "checkpoints"}) {
    for (auto it = fs::directory_iterator(folder, error); !error && it != fs::directory_iterator(); it.increment(error)) {
      const std::string line = fmt::format("{}\t{}\t{}\n", it->path().string(), it->is_regular_file() ? bytes_under(it->path()) : 0,
                                           int64_t(modified_time(it->path().string())));
      XXH3_64bits_update(state, line.data(), line.size());
    }
    error.clear();
  }
  const uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return fmt::format("{:016x}", digest);
}

RunFolder read_run_folder(const std::string& dir, const std::string& source) {
  RunFolder run;
  run.dir = absolute_dir(dir);
  run.id = path_run_id(run.dir);
  run.name = fs::path(run.dir).filename().string();
  run.source = source;
  // Without run.json, the run began about when its config was written (the folder's time moves with every file).
  const std::string config = run.dir + "/config.yaml";
  run.created_at = int64_t(modified_time(fs::exists(config) ? config : run.dir));
  gather(run, [&] { read_record(run.dir, run); });
  gather(run, [&] { read_config(run.dir, run); });
  gather(run, [&] { read_artefacts(run.dir, run); });
  gather(run, [&] {
    if (fs::exists(gate_verdict_path(run.dir))) run.gate = read_json_object(gate_verdict_path(run.dir));
  });
  if (run.status.empty()) run.status = status_without_record(run);
  if (run.method.empty()) run.method = "unknown";
  return run;
}

double modified_time(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return double(info.st_mtim.tv_sec) + double(info.st_mtim.tv_nsec) * 1e-9;
}

json flatten(const json& object) {
  json flat = json::object();
  for (const auto& [key, value] : object.items()) {
    if (value.is_object() && !value.empty()) {
      const json inner_flat = flatten(value);
      for (const auto& [inner, leaf] : inner_flat.items()) flat[key + "." + inner] = leaf;
    } else {
      flat[key] = value;
    }
  }
  return flat;
}

}  // namespace whet::track
