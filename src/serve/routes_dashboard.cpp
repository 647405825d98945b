// The dashboard (docs/dashboard.md): GET / is the page, GET /static/NAME its
// scripts, styles and Chart.js, all built into the binary. They are open, as
// /health is: they hold no data. The page reads everything through the /v1 API
// with the key the user gives it, so it sees exactly what the key may see.
// GET /dashboard/session tells the page whether to ask for a key before its
// first call, so that an unkeyed page does not begin with a volley of 401s.
// GET /v1/evaluations (keyed, as /v1/runs is) gives the Evaluation page the
// `whet eval` reports kept in run folders, whole but for their per-item
// predictions: the run store's summaries drop the intervals and the verdict.
#include <fmt/format.h>

#include <string_view>

#include "core/error.h"
#include "io/json_fields.h"
#include "serve/api_error.h"
#include "serve/server_state.h"
#include "serve/web_assets.h"

namespace whet::serve {

namespace {

constexpr std::string_view kWebFolder = "src/serve/web/";

std::string content_type(std::string_view name) {
  const auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void send_asset(httplib::Response& response, std::string_view name) {
  const std::string_view body = web_asset(std::string(kWebFolder) + std::string(name));
  if (body.empty()) throw not_found(fmt::format("no dashboard file '{}'", name));
  // Files change only with the binary: revalidate rather than show a page from an older server.
  response.set_header("Cache-Control", "no-cache");
  response.set_content(std::string(body), content_type(name));
}

// A report as `whet eval --json-out` wrote it, without the predictions: they
// are per item, most of the file, and the page shows none of them.
nlohmann::json report_without_predictions(const std::string& path) {
  nlohmann::json report = read_json_object(path);
  if (report.contains("tasks") && report["tasks"].is_array())
    for (nlohmann::json& task : report["tasks"])
      if (task.is_object() && task.contains("results") && task["results"].is_array())
        for (nlohmann::json& result : task["results"])
          if (result.is_object()) result.erase("predictions");
  return report;
}

// Every eval_report artefact of every run, newest run first; a report that
// cannot be read is listed with its error instead of the report.
nlohmann::json evaluation_reports(ServerState& state) {
  nlohmann::json data = nlohmann::json::array();
  for (const nlohmann::json& run : state.runs.runs())
    for (const nlohmann::json& artefact : run.value("artefacts", nlohmann::json::array())) {
      if (artefact.value("kind", "") != "eval_report") continue;
      nlohmann::json entry = {{"object", "evaluation"}, {"run_id", run["id"]}, {"run_name", run.value("name", "")},
                              {"path", artefact["path"]}};
      try {
        entry["report"] = report_without_predictions(artefact["path"]);
      } catch (const Error& e) {
        entry["error"] = e.what();
      }
      data.push_back(std::move(entry));
    }
  return {{"object", "list"}, {"data", data}};
}

}  // namespace

void add_dashboard_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "GET", "/", "dashboard", Access::Open,
            [](const httplib::Request&, httplib::Response& response) { send_asset(response, "index.html"); });
  add_route(server, state, "GET", R"(/static/([A-Za-z0-9_.-]+))", "dashboard_static", Access::Open,
            [](const httplib::Request& request, httplib::Response& response) {
              send_asset(response, request.matches[1].str());
            });
  add_route(server, state, "GET", "/dashboard/session", "dashboard_session", Access::Open,
            [&state](const httplib::Request&, httplib::Response& response) {
              send_json(response, {{"keys_required", !state.options.api_keys.empty()},
                                   {"public_inference", state.options.public_inference}});
            });
  add_route(server, state, "GET", "/v1/evaluations", "evaluations", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              send_json(response, evaluation_reports(state));
            });
}

}  // namespace whet::serve
