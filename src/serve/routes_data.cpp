// /v1/data/pipelines: the output folders of `whet data prepare` under the
// server's data folder (docs/data.md, "Outputs"), for the Jobs page: the list
// with each manifest's summary, one folder's manifest with the account of every
// record (trace.jsonl), and its report.html. ?file=FILE_ID keeps the folders
// that wrote the uploaded file (its XXH3-64 is one of their outputs'), which is
// how a job's training file is traced to the pipeline that made it.
// OpenAI's API has no such endpoints; these take the shapes of its others.
#include <fmt/format.h>

#include <fstream>

#include "io/json_fields.h"
#include "prepare/manifest.h"
#include "serve/api_error.h"
#include "serve/data_folder_path.h"
#include "serve/data_reports.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The folder ?path= names: inside the data folder, and a pipeline's.
fs::path pipeline_folder(ServerState& state, const httplib::Request& request) {
  const std::string given = request.get_param_value("path");
  if (given.empty()) throw invalid_request("'path' is required: a folder as GET /v1/data/pipelines lists it", "path");
  const fs::path folder = path_in_data_folder(state.options.data_dir, given, "path");
  if (!is_pipeline_folder(folder))
    throw not_found(fmt::format("'{}' is not an output folder of `whet data prepare` (no manifest.json)", given), "path",
                    "pipeline_not_found");
  return folder;
}

// The XXH3-64 of an uploaded file, as a manifest writes an output's.
std::string uploaded_file_hash(ServerState& state, const std::string& id) {
  const auto file = state.store.get_file(id);
  if (!file) throw not_found(fmt::format("No such file: '{}'", id), "file", "file_not_found");
  return fmt::format("{:016x}", hash_file(file->path).hash);
}

json pipelines(ServerState& state, const httplib::Request& request) {
  const fs::path root = fs::absolute(state.options.data_dir);
  const std::string hash = request.has_param("file") ? uploaded_file_hash(state, request.get_param_value("file")) : "";
  json data = json::array();
  for (const std::string& path : find_pipeline_folders(root)) {
    json summary = pipeline_summary(root / path, path);
    if (hash.empty() || has_output_hash(summary, hash)) data.push_back(std::move(summary));
  }
  return {{"object", "list"}, {"data", data}};
}

}  // namespace

void add_data_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "GET", "/v1/data/pipelines", "data_pipelines", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, pipelines(state, request));
            });
  add_route(server, state, "GET", "/v1/data/pipelines/manifest", "data_pipeline_manifest", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const fs::path folder = pipeline_folder(state, request);
              json out = pipeline_summary(folder, request.get_param_value("path"));
              out["manifest"] = read_json_object((folder / "manifest.json").string());
              if (fs::is_regular_file(folder / "trace.jsonl")) out["trace"] = trace_account(folder / "trace.jsonl");
              send_json(response, out);
            });
  add_route(server, state, "GET", "/v1/data/pipelines/report", "data_pipeline_report", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const fs::path report = pipeline_folder(state, request) / "report.html";
              std::ifstream in(report, std::ios::binary);
              if (!in)
                throw not_found(fmt::format("'{}' has no report.html", request.get_param_value("path")), "path",
                                "report_not_found");
              // The report quotes the records it dropped: never let it run anything, wherever it is opened.
              response.set_header("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:");
              response.set_content(std::string(std::istreambuf_iterator<char>(in), {}), "text/html; charset=utf-8");
            });
}

}  // namespace whet::serve
