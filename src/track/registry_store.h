#pragma once
// The model registry (docs/registry.md), in MLflow's words: registered models,
// each with numbered versions (an adapter on a base, or a whole model) and
// aliases (champion, challenger, any name) that point at one version each.
// Kept in DATA/registry.sqlite beside the server's store; a version's files are
// copied into DATA/registry/NAME/VERSION, so a version never changes, even when
// the run folder it came from is deleted.
//
// Every change (a new version, a promotion, a roll-back, an alias deleted) is one
// transaction that also appends to the events log, so the log and the aliases
// always agree, whichever process (the server, `whet registry`) made it.
// Thread-safe: one connection behind one mutex, as serve/job_store.
// Failures are whet::Error "[<database path>] <operation>: <reason>", or
// "[registry] ..." for names, versions and aliases that do not exist.
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace whet::track {

enum class VersionKind { Adapter, Model };
std::string_view version_kind_name(VersionKind kind);  // "adapter" | "model"

struct ModelVersion {
  std::string name;
  int64_t version = 0;  // 1, 2, ... per registered model
  VersionKind kind = VersionKind::Adapter;
  std::string path;        // the copied files, DATA/registry/NAME/VERSION (absolute)
  std::string base_model;  // adapters: the base model's path (absolute); models: ""
  std::string base_hash;   // adapters: base_identity() of that base when registered
  std::string source;      // the folder it was registered from
  std::string run_id;      // the id in the run folder's run.json; "" when there is none
  nlohmann::json gate;     // gate.json of the run (eval/gate.h), or null
  int64_t created_at = 0;  // Unix seconds, like every time here
  std::string description;

  bool gate_failed() const;
  std::string gate_reason() const;  // why it failed; "" when it passed or has no verdict
};

struct RegistryEvent {
  int64_t seq = 0;  // grows with every event in the store
  int64_t time = 0;
  std::string action;  // "register", "promote", "rollback", "delete_alias"
  std::string name, alias;
  std::optional<int64_t> from_version, to_version;
  std::string reason;
};

struct RegisteredModel {
  std::string name, description;
  int64_t created_at = 0;
  std::vector<ModelVersion> versions;      // oldest first
  std::map<std::string, int64_t> aliases;  // alias -> version
  int64_t latest_version() const { return versions.empty() ? 0 : versions.back().version; }
};

// What register writes: the files already copied into `staged` (a folder beside
// DATA/registry/NAME), which becomes the version's folder as the row is committed.
struct NewVersion {
  std::string name;
  VersionKind kind = VersionKind::Adapter;
  std::string staged;
  std::string base_model, base_hash, source, run_id;
  nlohmann::json gate;
  std::string description;
};

// Names go into URIs (models:/NAME@ALIAS), URLs and folder names: letters,
// digits and - _ . only; aliases the same without '.', and not a number (that
// would read as a version) nor "latest". whet::Error saying so otherwise.
void check_model_name(const std::string& name);
void check_alias_name(const std::string& alias);

class RegistryStore {
 public:
  explicit RegistryStore(const std::string& data_dir);  // opens (creating) DATA/registry.sqlite
  ~RegistryStore();
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  const std::string& data_dir() const { return data_dir_; }
  // Where register stages a version's files before add_version: a fresh folder on the same file system.
  std::string staging_dir(const std::string& name) const;

  // The next version of `name` (the model made when it is new); its folder renamed into place.
  ModelVersion add_version(const NewVersion& version);
  // Points `alias` at `version`. A version whose training run failed its gate is
  // refused unless `force` (the reason names the failed checks).
  RegistryEvent promote(const std::string& name, const std::string& alias, int64_t version, const std::string& reason,
                        bool force = false);
  // Moves `alias` back to where it pointed before its latest change not yet rolled back.
  RegistryEvent rollback(const std::string& name, const std::string& alias, const std::string& reason);
  RegistryEvent delete_alias(const std::string& name, const std::string& alias, const std::string& reason);

  std::vector<RegisteredModel> list_models();
  RegisteredModel get_model(const std::string& name);  // whet::Error listing the names when unknown
  std::optional<RegisteredModel> find_model(const std::string& name);  // nullopt when unknown
  std::vector<RegistryEvent> events(const std::string& name);  // oldest first
  // `version` of `name`, or the one `alias` points at; errors list what exists.
  ModelVersion get_version(const std::string& name, int64_t version);
  ModelVersion version_for_alias(const std::string& name, const std::string& alias);

 private:
  // The caller holds mutex_ (and, for changes, a transaction).
  RegisteredModel read_model(const std::string& name);
  std::vector<std::string> model_names();
  std::optional<int64_t> alias_version(const std::string& name, const std::string& alias);
  RegistryEvent log_event(RegistryEvent event);
  RegistryEvent move_alias(const std::string& operation, const std::string& action, const std::string& name,
                           const std::string& alias, std::optional<int64_t> to, const std::string& reason);

  std::string data_dir_, path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace whet::track
