#include "train/run_record.h"

#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"
#include "models/model_loader.h"

#ifndef WHET_VERSION
#error "WHET_VERSION is set by CMakeLists.txt from project(VERSION)"
#endif

namespace whet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class Xxh3 {
 public:
  Xxh3() : state_(XXH3_createState(), XXH3_freeState) { XXH3_64bits_reset(state_.get()); }
  void add(const void* data, size_t n) { XXH3_64bits_update(state_.get(), data, n); }
  void add_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot read the file to hash it");
    std::vector<char> buffer(size_t(1) << 20);
    while (in.read(buffer.data(), std::streamsize(buffer.size())) || in.gcount() > 0) add(buffer.data(), size_t(in.gcount()));
  }
  std::string text() const { return fmt::format("xxh3:{:016x}", XXH3_64bits_digest(state_.get())); }

 private:
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

// 48 bits from the OS's random source: enough that two runs never share an id.
std::string new_run_id() {
  std::random_device random;
  const uint64_t bits = (uint64_t(random()) << 32 | random()) & 0xffffffffffffULL;
  return fmt::format("run-{:012x}", bits);
}

std::string method_of(const TrainConfig& config) {
  if (config.rl != "none") return config.rl;
  switch (config.method) {
    case TrainMethod::Full: return "full";
    case TrainMethod::Freeze: return "freeze";
    case TrainMethod::Lora: return "lora";
  }
  WHET_ASSERT(false);
}

std::string host_name() {
  std::array<char, 256> name{};
  return ::gethostname(name.data(), name.size() - 1) == 0 ? std::string(name.data()) : std::string();
}

// The folder's own name, also for "runs/x/".
std::string folder_name(const std::string& dir) {
  fs::path path = fs::absolute(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.filename().string();
}

json file_entry(const std::string& path) { return {{"path", fs::absolute(path).string()}, {"hash", content_hash(path)}}; }

// The data files with their hashes, and the manifest `whet data prepare` wrote
// beside them (the first one found), which names where the data came from.
void add_data_lineage(const TrainConfig& config, json& record) {
  json files = json::array();
  json manifest = nullptr;
  Xxh3 combined;
  auto add = [&](const std::string& path, const char* role) {
    json entry = file_entry(path);
    entry["role"] = role;
    combined.add(entry["hash"].get_ref<const std::string&>().data(), entry["hash"].get_ref<const std::string&>().size());
    files.push_back(std::move(entry));
    const fs::path beside = fs::path(path).parent_path() / "manifest.json";
    if (manifest.is_null() && fs::is_regular_file(beside)) manifest = file_entry(beside.string());
  };
  for (const std::string& path : config.train_data) add(path, "train");
  for (const std::string& path : config.task_sequence) add(path, "train");
  for (const std::string& path : config.val_data) add(path, "validation");
  record["data"] = files;
  record["data_manifest"] = manifest;
  record["data_hash"] = manifest.is_null() ? json(combined.text()) : manifest["hash"];
}

}  // namespace

std::string content_hash(const std::string& path) {
  Xxh3 hash;
  if (fs::is_directory(path)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string name = file.filename().string();
      hash.add(name.data(), name.size() + 1);  // with its NUL: names and contents cannot run together
      hash.add_file(file.string());
    }
  } else {
    hash.add_file(path);
  }
  return hash.text();
}

RunRecord::RunRecord(const TrainConfig& config, std::string_view config_yaml, std::string_view source, bool resume)
    : path_(config.output_dir + "/" + std::string(kRunRecordFile)) {
  json earlier;
  if (resume && fs::exists(path_)) earlier = read_json_object(path_);
  const std::string model = config.base_model.empty() ? default_model_path() : config.base_model;
  Xxh3 config_hash;
  config_hash.add(config_yaml.data(), config_yaml.size());
  record_ = {{"id", earlier.is_object() ? earlier.value("id", new_run_id()) : new_run_id()},
             {"name", folder_name(config.output_dir)},
             {"source", source},
             {"status", "running"},
             {"started_at", earlier.is_object() ? earlier.value("started_at", int64_t(std::time(nullptr)))
                                                : int64_t(std::time(nullptr))},
             {"finished_at", nullptr},
             {"method", method_of(config)},
             {"model", file_entry(model)},
             {"config_hash", config_hash.text()},
             {"whet_version", WHET_VERSION},
             {"pid", int64_t(::getpid())},
             {"host", host_name()}};
  if (resume) record_["resumed_at"] = int64_t(std::time(nullptr));
  add_data_lineage(config, record_);
  write_file_atomic(path_, record_.dump(2) + "\n");
}

void RunRecord::finish(std::string_view status, std::string_view error) {
  record_["status"] = status;
  record_["finished_at"] = int64_t(std::time(nullptr));
  if (!error.empty()) record_["error"] = error;
  write_file_atomic(path_, record_.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace whet
