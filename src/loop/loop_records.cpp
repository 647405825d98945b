#include "loop/loop_records.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/json_fields.h"
#include "loop/loop_state.h"

namespace whet::loop {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> loop_names(const std::string& data_dir) {
  std::vector<std::string> names;
  const fs::path root = fs::path(data_dir) / "loops";
  if (!fs::is_directory(root)) return names;
  for (const fs::directory_entry& entry : fs::directory_iterator(root))
    if (fs::exists(entry.path() / "state.json")) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

json json_or_null(const std::string& path) { return fs::exists(path) ? read_json_object(path) : json(nullptr); }

json summary(const LoopFolder& folder, const std::string& name, const WatchState& state) {
  json inputs = json::array();
  for (const InputFile& in : state.inputs)
    inputs.push_back({{"cycle", in.cycle}, {"source", in.source}, {"records", in.records}});
  json last = nullptr;
  for (int64_t c = state.cycle; c > 0 && last.is_null(); --c) last = json_or_null(folder.decision_path(c));
  return {{"name", name},     {"cycle", state.cycle}, {"phase", phase_name(state.phase)},
          {"inputs", inputs}, {"last_decision", last}};
}

}  // namespace

json loops_json(const std::string& data_dir) {
  json data = json::array();
  for (const std::string& name : loop_names(data_dir)) {
    const LoopFolder folder(data_dir, name);
    data.push_back(summary(folder, name, read_watch_state(folder)));
  }
  return {{"object", "list"}, {"data", data}};
}

json loop_json(const std::string& data_dir, const std::string& name) {
  const std::vector<std::string> names = loop_names(data_dir);
  if (std::find(names.begin(), names.end(), name) == names.end())
    fail("loops", "no loop named '{}' in {} (there are: {})", name, data_dir,
         names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")));
  const LoopFolder folder(data_dir, name);
  const WatchState state = read_watch_state(folder);
  json out = summary(folder, name, state);
  out["cycles"] = json::array();
  for (int64_t c = state.cycle; c > 0; --c) {
    const bool current = c == state.cycle;
    out["cycles"].push_back({{"cycle", c},
                             {"phase", current ? phase_name(state.phase) : phase_name(Phase::Decided)},
                             {"evaluation", json_or_null(folder.evaluation_path(c))},
                             {"decision", json_or_null(folder.decision_path(c))}});
  }
  return out;
}

}  // namespace whet::loop
