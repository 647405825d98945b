// LoRA adapters while the server runs. Two ways in:
//  - load and unload a trained adapter (PEFT folder or GGUF LoRA file) by path, with vLLM's endpoint names
//    (POST /v1/load_lora_adapter, /v1/unload_lora_adapter); the path must lie in
//    a folder the operator allowed (--adapter-root), never anywhere a client names;
//  - the adapter-centred flow for small interactive jobs: POST /v1/adapters makes
//    a named adapter on a base model, POST /v1/adapters/NAME/fine_tune trains it
//    on samples sent inline (continuing from its last training), and requests
//    with "model": NAME use it as soon as that job succeeds.
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "data/json_line.h"
#include "models/lora_files.h"
#include "serve/api_error.h"
#include "serve/job_request.h"
#include "serve/request_json.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string required_string(const json& body, const char* key) {
  const json* v = json_member(body, key);
  if (!v || !v->is_string() || v->get<std::string>().empty())
    throw invalid_request(fmt::format("'{}' is required and must be a non-empty string", key), key);
  return v->get<std::string>();
}

// Names appear in URLs and in "model" fields: keep them to a safe alphabet.
std::string adapter_name(const json& body, const char* key, const ServerState& state) {
  const std::string name = required_string(body, key);
  if (name.size() > 128) throw invalid_request(fmt::format("'{}' must be at most 128 characters", key), key);
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("-_.:", c))
      throw invalid_request(fmt::format("'{}' may hold letters, digits and - _ . : only", key), key);
  if (state.models.is_base(name))
    throw invalid_request(fmt::format("'{}' is the name of a base model", name), key, "name_taken");
  return name;
}

std::string base_model(const json& body, const ServerState& state) {
  const json* v = json_member(body, "base_model");
  if (!v) {
    for (const ModelRoute& m : state.models.list())
      if (!m.adapter) return m.name;  // the first base: the one the server was started with
  }
  const std::string name = required_string(body, "base_model");
  if (!state.models.is_base(name))
    throw not_found(fmt::format("no base model named '{}'", name), "base_model", "model_not_found");
  return name;
}

// A client-given path is accepted only inside a folder the operator allowed.
std::string allowed_adapter_path(const std::string& given, const ServerState& state) {
  std::error_code ec;
  const fs::path path = fs::weakly_canonical(given, ec);
  for (const std::string& root : state.options.adapter_roots) {
    const fs::path r = fs::weakly_canonical(root, ec);
    const auto [end, _] = std::mismatch(r.begin(), r.end(), path.begin(), path.end());
    if (end == r.end()) return path.string();
  }
  throw ApiError(403, "permission_error",
                 state.options.adapter_roots.empty()
                     ? "loading adapters by path is off: start the server with --adapter-root DIR to allow it"
                     : fmt::format("'{}' is outside the folders this server may load adapters from", given),
                 "lora_path", "path_not_allowed");
}

std::optional<AdapterRecord> find_record(ServerState& state, const std::string& name) {
  for (const AdapterRecord& a : state.store.list_adapters())
    if (a.name == name) return a;
  return std::nullopt;
}

json adapter_json(const AdapterRecord& a, const ServerState& state) {
  return {{"object", "adapter"},
          {"id", a.name},
          {"base_model", a.base_model},
          {"created_at", a.created_at},
          {"status", state.models.find(a.name) || state.rewards.has(a.name) ? "ready" : "untrained"}};
}

void load_adapter_route(ServerState& state, const httplib::Request& request, httplib::Response& response) {
  const json body = parse_request_object(json_body(request, state));
  const std::string name = adapter_name(body, "lora_name", state);
  const std::string path = allowed_adapter_path(required_string(body, "lora_path"), state);
  const std::string base = base_model(body, state);
  auto lora = std::make_shared<LlamaLora>(load_lora_adapter(path, state.models.find(base)->model->model.config));
  const int64_t now = std::time(nullptr);
  state.models.add_adapter(name, base, std::move(lora), now, gate_failure_in(path));
  state.store.put_adapter({name, base, path, now});
  response.set_content(fmt::format("Success: LoRA adapter '{}' added successfully.", name), "text/plain");
}

void fine_tune_route(ServerState& state, const httplib::Request& request, httplib::Response& response) {
  const std::string name = request.matches[1].str();
  const auto record = find_record(state, name);
  if (!record || record->base_model.empty())
    throw not_found(fmt::format("no adapter named '{}'; create it with POST /v1/adapters", name), "adapter",
                    "adapter_not_found");
  const json body = parse_request_object(json_body(request, state));
  const json* samples = json_member(body, "samples");
  if (!samples || !samples->is_array() || samples->empty())
    throw invalid_request("'samples' must be a non-empty array of training examples", "samples");
  std::string content;
  for (size_t i = 0; i < samples->size(); ++i) {
    if (!(*samples)[i].is_object())
      throw invalid_request(fmt::format("'samples[{}]' must be an object", i), "samples");
    content += (*samples)[i].dump() + "\n";
  }
  json given = body.contains("hyperparameters") ? body["hyperparameters"] : json::object();
  if (!given.is_object()) throw invalid_request("'hyperparameters' must be an object", "hyperparameters");
  if (body.contains("n_epochs")) given["n_epochs"] = body["n_epochs"];
  Job job;
  job.model = record->base_model;
  job.method = "lora";
  job.hyperparameters = normalise_hyperparameters(given, "lora", "");
  job.fine_tuned_model = name;
  // The next round continues from the adapter as trained so far.
  if (!record->path.empty()) job.hyperparameters["lora_model_dir"] = record->path;
  job.training_file = store_training_file(state, name + "-samples.jsonl", content).id;
  send_json(response, job_json(queue_job(state, std::move(job))));
}

}  // namespace

void add_adapter_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "POST", "/v1/load_lora_adapter", "adapter_load", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              load_adapter_route(state, request, response);
            });
  add_route(server, state, "POST", "/v1/unload_lora_adapter", "adapter_unload", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string name = required_string(parse_request_object(json_body(request, state)), "lora_name");
              if (!state.models.remove_adapter(name))
                throw not_found(fmt::format("no loaded adapter named '{}'", name), "lora_name", "adapter_not_found");
              state.store.delete_adapter(name);
              response.set_content(fmt::format("Success: LoRA adapter '{}' removed successfully.", name), "text/plain");
            });
  add_route(server, state, "POST", "/v1/adapters", "adapters_create", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const json body = parse_request_object(json_body(request, state));
              const std::string name = adapter_name(body, "name", state);
              if (find_record(state, name) || state.models.find(name))
                throw invalid_request(fmt::format("an adapter named '{}' exists", name), "name", "name_taken");
              const AdapterRecord record{name, base_model(body, state), "", int64_t(std::time(nullptr))};
              state.store.put_adapter(record);
              send_json(response, adapter_json(record, state));
            });
  add_route(server, state, "GET", "/v1/adapters", "adapters_list", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              json data = json::array();
              for (const AdapterRecord& a : state.store.list_adapters())
                if (!a.base_model.empty()) data.push_back(adapter_json(a, state));
              send_json(response, {{"object", "list"}, {"data", data}});
            });
  add_route(server, state, "POST", R"(/v1/adapters/([^/]+)/fine_tune)", "adapter_fine_tune", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              fine_tune_route(state, request, response);
            });
  add_route(server, state, "DELETE", R"(/v1/adapters/([^/]+))", "adapter_delete", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const std::string name = request.matches[1].str();
              const bool known = find_record(state, name).has_value();
              const bool loaded = state.models.remove_adapter(name);
              if (!known && !loaded) throw not_found(fmt::format("no adapter named '{}'", name), "adapter");
              state.store.delete_adapter(name);
              send_json(response, {{"id", name}, {"object", "adapter"}, {"deleted", true}});
            });
}

}  // namespace whet::serve
