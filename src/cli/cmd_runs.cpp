// whet runs list|show|compare|add|export-tensorboard: the run tracker on the
// command line (docs/runs.md). Each command first syncs the data folder's
// index (DATA/tracking.sqlite), so what it shows is what the folders hold now.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "track/run_compare.h"
#include "track/run_store.h"
#include "track/tensorboard_events.h"

namespace whet::cli {

namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

struct RunsOptions {
  std::string data_dir = "whet-data";
  bool json = false;
  std::vector<std::string> ids;
  std::string dir, output;
};

// A mistyped --data-dir is an error, not a new empty folder.
std::unique_ptr<track::RunStore> open_store(const RunsOptions& o) {
  if (!std::filesystem::is_directory(o.data_dir))
    fail(o.data_dir, "no such data folder (--data-dir: the folder whet serve uses, or where runs/ is)");
  return std::make_unique<track::RunStore>(o.data_dir);
}

// The store, synced; what the sync found wrong goes to stderr, never dropped.
std::unique_ptr<track::RunStore> synced_store(const RunsOptions& o) {
  auto store = open_store(o);
  for (const std::string& problem : store->sync().problems) std::fprintf(stderr, "warning: %s\n", problem.c_str());
  return store;
}

json find_run(track::RunStore& store, const std::string& text) {
  const std::optional<std::string> id = store.find(text);
  if (!id) fail("runs", "no run '{}' in {} (whet runs list shows them)", text, store.path());
  return *store.run(*id);
}

// Columns padded to their widest cell, two spaces apart.
void print_rows(const Rows& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], widths[c]);
    std::printf("%s\n", line.c_str());
  }
}

std::string text_of(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return fmt::format("{:.4g}", value.get<double>());
  return value.dump();
}

std::string age(int64_t since) {
  const int64_t s = std::max<int64_t>(0, int64_t(std::time(nullptr)) - since);
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// What a run is judged by (track/best_metric.h): its metric and best value.
std::string headline(const json& run) {
  const json& best = run["best_metric"];
  if (best.is_null()) return "-";
  return best["name"].get<std::string>() + " " + (best["value"].is_null() ? "-" : text_of(best["value"]));
}

std::string status_of(const json& run) { return run["missing"].get<bool>() ? run["status"].get<std::string>() + " (missing)" : run["status"].get<std::string>(); }

void print_json(const json& value) { std::printf("%s\n", value.dump(2, ' ', false, json::error_handler_t::replace).c_str()); }

void list(const RunsOptions& o) {
  auto store = synced_store(o);
  const std::vector<json> runs = store->runs();
  if (o.json) return print_json({{"object", "list"}, {"data", runs}});
  if (runs.empty()) {
    std::fprintf(stderr, "no runs under %s/runs or %s/jobs (whet runs add DIR tracks a folder elsewhere)\n",
                 o.data_dir.c_str(), o.data_dir.c_str());
    return;
  }
  Rows rows = {{"ID", "NAME", "STATUS", "METHOD", "SOURCE", "STEPS", "BEST", "AGE"}};
  for (const json& run : runs)
    rows.push_back({run["id"], run["name"], status_of(run), run["method"], run["source"],
                    std::to_string(run["steps"].get<int64_t>()), headline(run), age(run["created_at"])});
  print_rows(rows);
}

void print_object(const char* heading, const json& object) {
  std::printf("\n%s\n", heading);
  Rows rows;
  for (const auto& [key, value] : object.items()) rows.push_back({"  " + key, text_of(value)});
  if (rows.empty()) rows.push_back({"  (none)"});
  print_rows(rows);
}

void show(const RunsOptions& o) {
  auto store = synced_store(o);
  const json run = find_run(*store, o.ids.at(0));
  if (o.json) return print_json(run);
  std::printf("%s  %s  %s\n", run["id"].get<std::string>().c_str(), run["name"].get<std::string>().c_str(),
              status_of(run).c_str());
  print_rows({{"dir", run["dir"]}, {"source", run["source"]}, {"method", run["method"]}, {"model", run["model"]},
              {"data", text_of(run["data"])}, {"steps", std::to_string(run["steps"].get<int64_t>())}});
  print_object("Lineage", run["lineage"]);
  print_object("Params", run["params"]);
  print_object("Best", run["best"]);
  print_object("Last", run["last"]);
  std::printf("\nArtefacts\n");
  Rows artefacts;
  for (const json& a : run["artefacts"])
    artefacts.push_back({"  " + a["kind"].get<std::string>(), fmt::format("{} bytes", a["bytes"].get<int64_t>()), a["path"]});
  if (artefacts.empty()) artefacts.push_back({"  (none)"});
  print_rows(artefacts);
  if (!run["gate"].is_null()) std::printf("\nForgetting gate: %s\n", run["gate"].value("passed", false) ? "passed" : "FAILED");
  if (run["bad_lines"].get<int64_t>() > 0 || !run["problems"].empty()) {
    std::printf("\nProblems (%lld bad metrics lines)\n", static_cast<long long>(run["bad_lines"].get<int64_t>()));
    for (const json& problem : run["problems"]) std::printf("  %s\n", problem.get<std::string>().c_str());
  }
}

void compare(const RunsOptions& o) {
  if (o.ids.size() < 2) fail("runs compare", "give two or more runs");
  auto store = synced_store(o);
  std::vector<json> runs;
  for (const std::string& text : o.ids) runs.push_back(find_run(*store, text));
  const json comparison = track::compare_runs(runs);
  if (o.json) return print_json(comparison);
  std::vector<std::string> header = {""};
  for (const json& run : runs) header.push_back(run["name"].get<std::string>() + " (" + run["id"].get<std::string>() + ")");
  Rows params = {header};
  for (const auto& [key, values] : comparison["differing_params"].items()) {
    std::vector<std::string> row = {key};
    for (const json& run : runs) row.push_back(text_of(values[run["id"].get<std::string>()]));
    params.push_back(row);
  }
  std::printf("Config keys that differ\n");
  if (params.size() == 1) std::printf("  (none: the runs share every key)\n");
  else print_rows(params);
  Rows metrics = {header};
  for (const auto& [name, values] : comparison["metrics"].items()) {
    std::vector<std::string> row = {name};
    for (const json& run : runs) {
      const json& v = values[run["id"].get<std::string>()];
      row.push_back(fmt::format("best {} last {}", text_of(v["best"]), text_of(v["last"])));
    }
    metrics.push_back(row);
  }
  std::printf("\nMetrics\n");
  print_rows(metrics);
}

void add(const RunsOptions& o) {
  auto store = open_store(o);
  const track::SyncReport report = store->add_folder(o.dir);
  for (const std::string& problem : report.problems) std::fprintf(stderr, "warning: %s\n", problem.c_str());
  std::fprintf(stderr, "tracking %s in %s\n", o.dir.c_str(), store->path().c_str());
}

void export_tensorboard(const RunsOptions& o) {
  auto store = synced_store(o);
  const json run = find_run(*store, o.ids.at(0));
  const std::string id = run["id"];
  std::vector<track::StoredMetric> rows;
  constexpr int64_t kPage = 100000;
  for (int64_t after = 0;;) {
    const std::vector<track::StoredMetric> page = store->metrics(id, after, kPage);
    rows.insert(rows.end(), page.begin(), page.end());
    if (int64_t(page.size()) < kPage) break;
    after = page.back().seq;
  }
  const std::string path = track::write_tensorboard_events(o.output, rows);
  std::fprintf(stderr, "wrote %s (%zu scalars of %s); open it with: tensorboard --logdir %s\n", path.c_str(),
               rows.size(), id.c_str(), o.output.c_str());
}

}  // namespace

void add_runs_command(CLI::App& app) {
  auto* runs = app.add_subcommand("runs", "The training runs under the data folder and the server's jobs: list, show, "
                                          "compare, track a folder, export to TensorBoard (docs/runs.md)");
  runs->require_subcommand(1);
  auto o = std::make_shared<RunsOptions>();
  auto common = [&](CLI::App* command, bool json_output) {
    add_data_dir_option(*command, o->data_dir, "The data folder whose runs/ and jobs/ are tracked (whet serve --data-dir)");
    if (json_output) command->add_flag("--json", o->json, "Print JSON in the HTTP API's shapes (docs/runs.md)");
  };
  auto* list_command = runs->add_subcommand("list", "Every run, newest first: id, name, status, method, source, steps, best metric, age");
  common(list_command, true);
  list_command->callback([o] { list(*o); });

  auto* show_command = runs->add_subcommand("show", "One run: params, lineage, artefacts, best and last metrics");
  show_command->add_option("run", o->ids, "The run's id, a unique start of it, or its folder's name")->required()->expected(1);
  common(show_command, true);
  show_command->callback([o] { show(*o); });

  auto* compare_command = runs->add_subcommand("compare", "Runs side by side: the config keys that differ, best and last metrics");
  compare_command->add_option("runs", o->ids, "Two or more runs (ids, starts of ids or folder names)")->required()->expected(2, 100);
  common(compare_command, true);
  compare_command->callback([o] { compare(*o); });

  auto* add_command = runs->add_subcommand("add", "Track a run folder outside the data folder from now on");
  add_command->add_option("dir", o->dir, "The run folder (it has run.json, config.yaml or metrics.jsonl)")->required();
  common(add_command, false);
  add_command->callback([o] { add(*o); });

  auto* export_command = runs->add_subcommand("export-tensorboard", "Write a run's scalars as a TensorBoard event file");
  export_command->add_option("run", o->ids, "The run's id, a unique start of it, or its folder's name")->required()->expected(1);
  export_command->add_option("--output", o->output, "The folder for the event file (then: tensorboard --logdir FOLDER)")->required();
  common(export_command, false);
  export_command->callback([o] { export_tensorboard(*o); });
  runs->footer(
      "\nExamples:\n"
      "  whet runs list --data-dir whet-data\n"
      "  whet runs show zorblax --json\n"
      "  whet runs compare run-3fa2c19e07b4 run-91c0d2aa5e10\n"
      "  whet runs add ~/experiments/old-run\n"
      "  whet runs export-tensorboard zorblax --output tb/zorblax && tensorboard --logdir tb\n");
}

}  // namespace whet::cli
