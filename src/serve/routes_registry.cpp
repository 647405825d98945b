// The model registry over HTTP (docs/registry.md): list and show registered
// models, register a version from a run folder, promote (point an alias at a
// version) and roll back; and the models:/NAME@ALIAS names that the OpenAI
// "model" field accepts, resolved at each request so a promotion changes what
// the next request gets.
#include <algorithm>
#include <filesystem>
#include <mutex>

#include <fmt/ranges.h>

#include "core/error.h"
#include "data/json_line.h"
#include "models/lora_files.h"
#include "serve/api_error.h"
#include "serve/request_json.h"
#include "serve/server_state.h"
#include "track/model_uri.h"
#include "track/registry_json.h"
#include "track/registry_source.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A served base's base_identity, computed once per path: hashing the weights takes a moment.
std::string served_base_identity(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard lock(mutex);
  auto it = known.find(path);
  if (it == known.end()) it = known.emplace(path, track::base_identity(path)).first;
  return it->second;
}

std::string canonical(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

// The served base an adapter version was trained on: the same path, else the same weights.
std::optional<ModelRoute> served_base_for(const ModelRegistry& models, const track::ModelVersion& version) {
  const std::vector<ModelRoute> all = models.list();
  for (const ModelRoute& m : all)
    if (!m.adapter && canonical(m.model->path) == canonical(version.base_model)) return m;
  if (version.base_hash.empty()) return std::nullopt;
  for (const ModelRoute& m : all)
    if (!m.adapter && served_base_identity(m.model->path) == version.base_hash) return m;
  return std::nullopt;
}

std::vector<std::string> base_names(const ModelRegistry& models) {
  std::vector<std::string> names;
  for (const ModelRoute& m : models.list())
    if (!m.adapter) names.push_back(m.name);
  return names;
}

// A model version is served as a base of its own, named by its version URI, loaded on first use.
ModelRoute model_version_route(ModelRegistry& models, const std::string& uri, const track::ModelVersion& version) {
  const std::string name = fmt::format("models:/{}/{}", version.name, version.version);
  for (const ModelRoute& m : models.list())
    if (!m.adapter && (m.name == name || canonical(m.model->path) == canonical(version.path))) {
      ModelRoute route = m;
      route.name = uri;
      return route;
    }
  try {
    models.add_base(name, load_model(version.path));
  } catch (const Error&) {
    if (!models.is_base(name)) throw;  // else a racing request loaded it first
  }
  ModelRoute route = *models.find(name);
  route.name = uri;
  return route;
}

std::string required_string(const json& body, const char* key) {
  const json* v = json_member(body, key);
  if (!v || !v->is_string() || v->get<std::string>().empty())
    throw invalid_request(fmt::format("'{}' is required and must be a non-empty string", key), key);
  return v->get<std::string>();
}

std::string optional_string(const json& body, const char* key, const std::string& fallback = "") {
  const json* v = json_member(body, key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_string()) throw invalid_request(fmt::format("'{}' must be a string", key), key);
  return v->get<std::string>();
}

bool optional_bool(const json& body, const char* key) {
  const json* v = json_member(body, key);
  if (!v || v->is_null()) return false;
  if (!v->is_boolean()) throw invalid_request(fmt::format("'{}' must be true or false", key), key);
  return v->get<bool>();
}

// The registered model named in the URL, or a 404 listing the registered names.
track::RegisteredModel model_or_404(const ServerState& state, const std::string& name) {
  try {
    return state.registry.get_model(name);
  } catch (const Error& e) {
    throw not_found(e.what(), "name", "model_not_found");
  }
}

// A client names a folder to register: inside the data folder (relative paths
// are read from there) or a folder the operator allowed with --adapter-root.
std::string allowed_source(const ServerState& state, const std::string& given) {
  const fs::path data = fs::weakly_canonical(state.registry.data_dir());
  const fs::path path = fs::weakly_canonical(fs::path(given).is_absolute() ? fs::path(given) : data / given);
  std::vector<fs::path> roots = {data};
  for (const std::string& root : state.options.adapter_roots) roots.push_back(fs::weakly_canonical(root));
  for (const fs::path& root : roots) {
    const auto [end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    if (end == root.end()) return path.string();
  }
  throw ApiError(403, "permission_error",
                 fmt::format("'{}' is outside the data folder and the --adapter-root folders this server may read",
                             given),
                 "source", "path_not_allowed");
}

void register_route(ServerState& state, const httplib::Request& request, httplib::Response& response) {
  const std::string name = request.matches[1].str();
  const json body = parse_request_object(json_body(request, state));
  track::RegisterOptions options;
  options.base = optional_string(body, "base");
  options.description = optional_string(body, "description");
  options.best = optional_bool(body, "best");
  const std::string source = allowed_source(state, required_string(body, "source"));
  json out = track::version_json(track::register_version(state.registry, name, source, options));
  out["name"] = name;
  send_json(response, out);
}

void promote_route(ServerState& state, const httplib::Request& request, httplib::Response& response) {
  const std::string name = request.matches[1].str();
  const json body = parse_request_object(json_body(request, state));
  const std::string alias = required_string(body, "alias");
  const json* version = json_member(body, "version");
  if (!version || !version->is_number_integer() || version->get<int64_t>() < 1)
    throw invalid_request("'version' is required and must be a version number (1, 2, ...)", "version");
  const bool force = optional_bool(body, "force");
  const track::RegisteredModel model = model_or_404(state, name);
  const int64_t number = version->get<int64_t>();
  for (const track::ModelVersion& v : model.versions)
    if (v.version == number && v.gate_failed() && !force)
      throw ApiError(409, "invalid_request_error",
                     fmt::format("version {} of '{}' failed the forgetting gate of its training run ({}); send "
                                 "\"force\": true to promote it anyway",
                                 number, name, v.gate_reason()),
                     "version", "gate_failed");
  send_json(response, track::event_json(
                          state.registry.promote(name, alias, number, optional_string(body, "reason"), force)));
}

// The registry's answer to a URI, or the 404 that /v1/chat/completions gives.
track::ResolvedModel resolved_or_404(track::RegistryStore& registry, const std::string& uri) {
  try {
    return track::resolve_model_uri(registry, uri);
  } catch (const Error& e) {
    throw ApiError(404, "invalid_request_error", fmt::format("The model '{}' does not exist: {}", uri, e.what()),
                   "model", "model_not_found");
  }
}


}  // namespace

ModelRoute registered_model_route(ModelRegistry& models, track::RegistryStore& registry, const std::string& uri) {
  const track::ModelVersion v = resolved_or_404(registry, uri).version;
  // An alias was promoted, and a failed gate only with --force: a decision made. A
  // version named directly is held to the gate as any trained folder is.
  const std::string gate_failure = track::parse_model_uri(uri).alias.empty() ? v.gate_reason() : "";
  if (v.kind == track::VersionKind::Model) {
    ModelRoute route = model_version_route(models, uri, v);
    route.gate_failure = gate_failure;
    return route;
  }
  const std::optional<ModelRoute> base = served_base_for(models, v);
  if (!base)
    throw ApiError(400, "invalid_request_error",
                   fmt::format("'{}' is version {} of '{}', an adapter on {}, which this server does not serve "
                               "(it serves: {})",
                               uri, v.version, v.name, v.base_model, fmt::join(base_names(models), ", ")),
                   "model", "base_not_served");
  return models.registered_adapter(uri, base->name, v.path, v.created_at, gate_failure,
                                   [&](const LoadedModel& model) {
                                     return std::make_shared<const LlamaLora>(
                                         load_lora_adapter(v.path, model.model.config));
                                   });
}

std::optional<ModelRoute> find_served_model(ModelRegistry& models, track::RegistryStore& registry,
                                            const std::string& name) {
  if (track::is_model_uri(name)) return registered_model_route(models, registry, name);
  return models.find(name);
}

std::string pinned_model_uri(const ServerState& state, const std::string& uri) {
  const track::ModelVersion v = resolved_or_404(state.registry, uri).version;
  return fmt::format("models:/{}/{}", v.name, v.version);
}

json registered_alias_entries(const ServerState& state) {
  json entries = json::array();
  for (const track::RegisteredModel& model : state.registry.list_models())
    for (const auto& [alias, version] : model.aliases)
      entries.push_back({{"id", fmt::format("models:/{}@{}", model.name, alias)},
                         {"object", "model"},
                         {"created", model.versions.at(size_t(version - 1)).created_at},
                         {"owned_by", "whet"},
                         {"version", version}});
  return entries;
}

void add_registry_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "GET", "/v1/registry/models", "registry_models", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              json data = json::array();
              for (const track::RegisteredModel& m : state.registry.list_models()) data.push_back(track::model_json(m));
              send_json(response, {{"object", "list"}, {"data", data}});
            });
  add_route(server, state, "GET", R"(/v1/registry/models/([^/]+))", "registry_model", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string name = request.matches[1].str();
              json out = track::model_json(model_or_404(state, name));
              out["events"] = json::array();
              for (const track::RegistryEvent& e : state.registry.events(name))
                out["events"].push_back(track::event_json(e));
              send_json(response, out);
            });
  add_route(server, state, "POST", R"(/v1/registry/models/([^/]+)/versions)", "registry_register", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              register_route(state, request, response);
            });
  add_route(server, state, "POST", R"(/v1/registry/models/([^/]+)/aliases)", "registry_promote", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              promote_route(state, request, response);
            });
  add_route(server, state, "POST", R"(/v1/registry/models/([^/]+)/rollback)", "registry_rollback", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string name = request.matches[1].str();
              const json body = parse_request_object(json_body(request, state));
              model_or_404(state, name);
              send_json(response, track::event_json(state.registry.rollback(
                                      name, optional_string(body, "alias", "champion"), optional_string(body, "reason"))));
            });
  add_route(server, state, "DELETE", R"(/v1/registry/models/([^/]+)/aliases/([^/]+))", "registry_alias_delete",
            Access::Manage, [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string name = request.matches[1].str();
              model_or_404(state, name);
              send_json(response, track::event_json(state.registry.delete_alias(name, request.matches[2].str(), "")));
            });
}

}  // namespace whet::serve
