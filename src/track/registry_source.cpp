#include "track/registry_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "core/error.h"
#include "io/json_fields.h"
#include "io/yaml_config.h"
#include "models/model_loader.h"

namespace whet::track {

namespace fs = std::filesystem;

namespace {

bool holds_adapter(const fs::path& dir) { return fs::exists(dir / "adapter_config.json"); }
bool holds_model(const fs::path& dir) { return fs::exists(dir / "config.json") || fs::exists(dir / "model.gguf"); }
bool is_run_folder(const fs::path& dir) { return fs::exists(dir / "config.yaml"); }

// The folder inside a run that holds its result.
fs::path run_output(const fs::path& run, bool best) {
  if (best) {
    if (!fs::is_directory(run / "best"))
      fail(run.string(), "--best: the run has no best/ folder (it is written when validation runs during training)");
    return run / "best";
  }
  for (const char* name : {"adapter", "model"})
    if (fs::is_directory(run / name)) return run / name;
  if (fs::is_directory(run / "classifier"))
    fail(run.string(), "the run trained a classification head (classifier/), which the registry does not hold");
  fail(run.string(), "the run folder has neither adapter/ nor model/ (has the run finished?)");
}

// The base as the run named it (config.yaml's base_model, empty for the default
// model), else as the adapter names it (adapter_config.json), made absolute.
std::string base_of(const VersionSource& source, const RegisterOptions& options) {
  std::string base = options.base, named_in = "--base";
  if (base.empty() && !source.run_dir.empty()) {
    // Only the one key: the run's other settings are the run's business, whatever Whet wrote them.
    named_in = source.run_dir + "/config.yaml";
    const YAML::Node run = yaml::parse_document(yaml::read_config_file(named_in), named_in, "base_model: MODEL");
    const YAML::Node key = run["base_model"];
    if (key && key.IsScalar()) base = key.as<std::string>();
    else if (key && !key.IsNull()) fail(named_in, "base_model: must be a path");
  }
  if (base.empty()) {
    named_in = source.files + "/adapter_config.json";
    const nlohmann::json config = read_json_object(named_in);
    const Fields fields(named_in, config);
    if (fields.has("base_model_name_or_path")) base = fields.string("base_model_name_or_path");
  }
  if (base.empty() && !source.run_dir.empty()) {
    named_in = "the default model";
    base = default_model_path();
  }
  if (base.empty()) fail(source.files, "the adapter does not name its base model; give it with --base MODEL");
  if (!fs::exists(base))
    fail(named_in, "the base model '{}' does not exist (seen from {}); give it with --base MODEL", base,
         fs::current_path().string());
  return fs::absolute(base).lexically_normal().string();
}

std::string run_id_in(const std::string& run_dir) {
  const std::string path = run_dir + "/run.json";
  if (run_dir.empty() || !fs::exists(path)) return "";
  const nlohmann::json run = read_json_object(path);
  const Fields fields(path, run);
  for (const char* key : {"id", "run_id"})
    if (fields.has(key)) return fields.string(key);
  return "";
}

nlohmann::json gate_in(const VersionSource& source) {
  for (const std::string& dir : {source.files, source.run_dir})
    if (!dir.empty() && fs::exists(dir + "/gate.json")) return read_json_object(dir + "/gate.json");
  return nullptr;
}

// A copied file is on disk before the row that names it commits.
void sync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    fail(path.string(), "cannot sync the copied file to disk");
  }
  ::close(fd);
}

void copy_version_files(const VersionSource& source, const fs::path& staged) {
  fs::create_directories(staged.parent_path());
  fs::copy(source.files, staged, fs::copy_options::recursive);
  // The verdict goes with the version, so serving and promotion can name the failed checks.
  if (!source.gate.is_null() && !fs::exists(staged / "gate.json"))
    fs::copy_file(source.run_dir + "/gate.json", staged / "gate.json");
  for (const auto& entry : fs::recursive_directory_iterator(staged))
    if (entry.is_regular_file()) sync_file(entry.path());
  sync_file(staged);
}

}  // namespace

VersionSource inspect_version_source(const std::string& dir, const RegisterOptions& options) {
  const fs::path given = fs::absolute(dir).lexically_normal();
  if (!fs::is_directory(given)) fail(dir, "--from: not a folder (a run folder, or an adapter or model folder)");
  VersionSource source;
  fs::path files = given;
  if (is_run_folder(given) && !holds_adapter(given) && !holds_model(given)) {
    source.run_dir = given.string();
    files = run_output(given, options.best);
  } else {
    if (options.best) fail(dir, "--best: give the run folder (the one with config.yaml and best/)");
    const fs::path parent = given.parent_path();
    if (is_run_folder(parent)) source.run_dir = parent.string();
  }
  source.files = files.string();
  if (holds_adapter(files)) source.kind = VersionKind::Adapter;
  else if (holds_model(files)) source.kind = VersionKind::Model;
  else
    fail(source.files, "neither an adapter (adapter_config.json) nor a model (config.json or model.gguf)");
  if (source.kind == VersionKind::Adapter) source.base_model = base_of(source, options);
  source.run_id = run_id_in(source.run_dir);
  source.gate = gate_in(source);
  return source;
}

std::string base_identity(const std::string& model_path) {
  std::vector<fs::path> files;
  if (fs::is_directory(model_path)) {
    for (const auto& entry : fs::directory_iterator(model_path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(model_path);
  }
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(), XXH3_freeState);
  XXH3_128bits_reset(state.get());
  std::vector<char> buffer(1 << 20);
  for (const fs::path& file : files) {
    const std::string name = file.filename().string();
    XXH3_128bits_update(state.get(), name.data(), name.size() + 1);  // the name's terminating 0 separates it
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(file.string(), "cannot read the base model to identify it");
    while (in.read(buffer.data(), std::streamsize(buffer.size())) || in.gcount() > 0)
      XXH3_128bits_update(state.get(), buffer.data(), size_t(in.gcount()));
  }
  const XXH128_hash_t hash = XXH3_128bits_digest(state.get());
  return fmt::format("{:016x}{:016x}", hash.high64, hash.low64);
}

ModelVersion register_version(RegistryStore& store, const std::string& name, const std::string& from,
                              const RegisterOptions& options) {
  check_model_name(name);
  const VersionSource source = inspect_version_source(from, options);
  const fs::path staged = store.staging_dir(name);
  try {
    copy_version_files(source, staged);
    NewVersion version{name,
                       source.kind,
                       staged.string(),
                       source.base_model,
                       source.base_model.empty() ? "" : base_identity(source.base_model),
                       source.run_dir.empty() ? source.files : source.run_dir,
                       source.run_id,
                       source.gate,
                       options.description};
    return store.add_version(version);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staged, ignored);
    throw;
  }
}

}  // namespace whet::track
