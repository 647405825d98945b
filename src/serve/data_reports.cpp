#include "serve/data_reports.h"

#include <algorithm>
#include <sys/stat.h>

#include <fstream>

#include "core/error.h"
#include "io/json_fields.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t total(const json& counts) {
  int64_t n = 0;
  if (counts.is_object())
    for (const auto& [reason, count] : counts.items())
      if (count.is_number_integer()) n += count.get<int64_t>();
  return n;
}

// Unix seconds, like every time the API gives (std::filesystem's clock is not the system's); 0 when unknown.
int64_t modified_at(const fs::path& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 ? int64_t(info.st_mtime) : 0;
}

}  // namespace

bool is_pipeline_folder(const fs::path& folder) {
  const fs::path manifest = folder / "manifest.json";
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec)) return false;
  try {
    return read_json_object(manifest.string()).contains("whet_data_manifest");
  } catch (const Error&) {
    return true;  // a manifest by name that cannot be read: listed, with its error
  }
}

std::vector<std::string> find_pipeline_folders(const fs::path& data_dir) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(data_dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    // A link is not followed: the folders listed are the data folder's own.
    if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
    if (it.depth() + 1 >= kPipelineSearchDepth) it.disable_recursion_pending();
    if (is_pipeline_folder(it->path())) found.push_back(it->path().lexically_relative(data_dir).generic_string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

json pipeline_summary(const fs::path& folder, const std::string& shown) {
  json entry = {{"object", "data.pipeline"},
                {"path", shown},
                {"updated_at", modified_at(folder / "manifest.json")},
                {"has_report", fs::is_regular_file(folder / "report.html")},
                {"has_trace", fs::is_regular_file(folder / "trace.jsonl")}};
  try {
    const json manifest = read_json_object((folder / "manifest.json").string());
    json stages = json::array();
    for (const json& s : manifest.value("stages", json::array()))
      stages.push_back({{"stage", s.value("stage", "")}, {"in", s.value("in", 0)}, {"out", s.value("out", 0)},
                        {"dropped", total(s.value("dropped", json::object()))},
                        {"changed", total(s.value("changed", json::object()))},
                        {"added", total(s.value("added", json::object()))}});
    int64_t written = 0;
    for (const json& o : manifest.value("outputs", json::array()))
      if (o.value("file", "") != "chunks.jsonl") written += o.value("records", int64_t(0));
    entry["seed"] = manifest.value("seed", json());
    entry["inputs"] = manifest.value("inputs", json::array()).size();
    entry["records_in"] = stages.empty() ? json(0) : stages[0]["in"];
    entry["records_out"] = written;
    entry["stages"] = stages;
    entry["outputs"] = manifest.value("outputs", json::array());
    entry["leaks"] = manifest.value("leaks", json(0));
  } catch (const std::exception& e) {
    entry["error"] = e.what();
  }
  return entry;
}

json trace_account(const fs::path& trace) {
  std::ifstream in(trace);
  if (!in) fail(trace.string(), "cannot be read");
  json fates = json::object(), dropped = json::object();
  int64_t records = 0, bad_lines = 0, first_bad = 0, number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    const json row = json::parse(line, nullptr, false);
    const auto text = [&](const char* key) { return row.contains(key) && row[key].is_string(); };
    if (!row.is_object() || !text("fate") || (row["fate"] == "dropped" && !text("stage"))) {
      if (bad_lines++ == 0) first_bad = number;
      continue;
    }
    ++records;
    const std::string fate = row["fate"];
    fates[fate] = fates.value(fate, int64_t(0)) + 1;
    if (fate == "dropped") {
      // By stage: a reason may name the record it repeats, and the manifest counts them by reason.
      const std::string stage = row["stage"];
      dropped[stage] = dropped.value(stage, int64_t(0)) + 1;
    }
  }
  json out = {{"records", records}, {"fates", fates}, {"dropped", dropped}, {"bad_lines", bad_lines}};
  if (bad_lines) out["first_bad_line"] = first_bad;
  return out;
}

bool has_output_hash(const json& summary, const std::string& xxh3_64) {
  for (const json& o : summary.value("outputs", json::array()))
    if (o.value("xxh3_64", "") == xxh3_64) return true;
  return false;
}

}  // namespace whet::serve
