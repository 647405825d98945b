#include "track/registry_json.h"

namespace whet::track {

using nlohmann::json;

namespace {

json optional_version(const std::optional<int64_t>& version) { return version ? json(*version) : json(nullptr); }

}  // namespace

json version_json(const ModelVersion& v) {
  return {{"version", v.version},
          {"kind", version_kind_name(v.kind)},
          {"path", v.path},
          {"base_model", v.base_model.empty() ? json(nullptr) : json(v.base_model)},
          {"run_id", v.run_id.empty() ? json(nullptr) : json(v.run_id)},
          {"source", v.source},
          {"gate", v.gate},
          {"created_at", v.created_at},
          {"description", v.description}};
}

json model_json(const RegisteredModel& model) {
  json versions = json::array();
  for (const ModelVersion& v : model.versions) versions.push_back(version_json(v));
  return {{"object", "registered_model"},
          {"name", model.name},
          {"description", model.description},
          {"created_at", model.created_at},
          {"latest_version", model.latest_version()},
          {"aliases", model.aliases},
          {"versions", versions}};
}

json event_json(const RegistryEvent& e) {
  return {{"seq", e.seq},
          {"time", e.time},
          {"action", e.action},
          {"alias", e.alias.empty() ? json(nullptr) : json(e.alias)},
          {"from_version", optional_version(e.from_version)},
          {"to_version", optional_version(e.to_version)},
          {"reason", e.reason}};
}

}  // namespace whet::track
