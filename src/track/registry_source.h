#pragma once
// What `whet registry register NAME --from DIR` (and POST
// /v1/registry/models/NAME/versions) makes a version of: a run folder (its
// adapter/ or model/, or best/ when asked), or an adapter or model folder given
// directly; with the run's base model, run.json id and gate.json verdict.
#include <nlohmann/json.hpp>
#include <string>

#include "track/registry_store.h"

namespace whet::track {

struct VersionSource {
  VersionKind kind = VersionKind::Adapter;
  std::string files;       // the folder whose files the version copies
  std::string run_dir;     // the run folder around it; "" when there is none
  std::string base_model;  // adapters: absolute path of the base
  std::string run_id;      // run.json's id; "" without one
  nlohmann::json gate;     // gate.json (beside the files or in the run folder), or null
};

struct RegisterOptions {
  bool best = false;        // a run folder's best/ instead of its final adapter/ or model/
  std::string base;         // overrides the base found in the run; "" keeps it
  std::string description;
};

// Reads the folder; whet::Error naming it and saying what was looked for otherwise.
VersionSource inspect_version_source(const std::string& dir, const RegisterOptions& options);

// What identifies a base model's weights when its path differs (another machine,
// a moved cache): XXH3-128 of the file, or of a folder's files in name order, as 32 hex digits.
std::string base_identity(const std::string& model_path);

// Copies the source into the registry (staged, then renamed as the row commits)
// and returns the new version.
ModelVersion register_version(RegistryStore& store, const std::string& name, const std::string& from,
                              const RegisterOptions& options);

}  // namespace whet::track
