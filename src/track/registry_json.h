#pragma once
// The registry in the JSON the HTTP API answers with and `whet registry --json`
// prints (docs/registry.md): one shape for both.
#include <nlohmann/json.hpp>

#include "track/registry_store.h"

namespace whet::track {

// {"version", "kind", "path", "base_model", "run_id", "gate": {...} | null, "created_at", "description"}
nlohmann::json version_json(const ModelVersion& version);
// {"object": "registered_model", "name", "description", "created_at", "latest_version",
//  "aliases": {alias: version}, "versions": [...]}
nlohmann::json model_json(const RegisteredModel& model);
// {"seq", "time", "action", "alias", "from_version", "to_version", "reason"}
nlohmann::json event_json(const RegistryEvent& event);

}  // namespace whet::track
