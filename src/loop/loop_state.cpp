#include "loop/loop_state.h"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"

namespace whet::loop {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<std::string_view, 6> kPhaseNames = {"collected", "prepared", "trained",
                                                         "evaluated", "registered", "decided"};

Phase phase_from_name(const Fields& fields, const std::string& name) {
  for (size_t i = 0; i < kPhaseNames.size(); ++i)
    if (kPhaseNames[i] == name) return Phase(i);
  fail(fields.path(), "phase: '{}' is not a phase of a cycle", name);
}

std::vector<std::string> string_list(const Fields& fields, const char* key) {
  std::vector<std::string> out;
  if (!fields.has(key)) return out;
  for (const json& item : fields.array(key)) {
    if (!item.is_string()) fail(fields.path(), "{}: expected strings", key);
    out.push_back(item.get<std::string>());
  }
  return out;
}

InputFile read_input(const std::string& path, const json& item, size_t index) {
  if (!item.is_object()) fail(path, "inputs[{}]: expected an object", index);
  const Fields f(path, item, fmt::format("inputs[{}].", index));
  return {int64_t(f.number("cycle", 0)), f.string("source"), f.string("stored"), int64_t(f.number("records", 0)),
          f.string("hash")};
}

}  // namespace

std::string_view phase_name(Phase phase) { return kPhaseNames[size_t(phase)]; }

LoopFolder::LoopFolder(const std::string& data_dir, const std::string& name)
    : root_((fs::absolute(data_dir) / "loops" / name).lexically_normal().string()) {}

std::string LoopFolder::cycle_dir(int64_t cycle) const { return fmt::format("{}/cycles/{:04d}", root_, cycle); }

WatchState read_watch_state(const LoopFolder& folder) {
  const std::string path = folder.state_path();
  WatchState state;
  if (!fs::exists(path)) return state;
  const json j = read_json_object(path);
  const Fields f(path, j);
  state.cycle = int64_t(f.number("cycle", 0));
  state.phase = phase_from_name(f, f.string("phase"));
  const json& inputs = f.array("inputs");
  for (size_t i = 0; i < inputs.size(); ++i) state.inputs.push_back(read_input(path, inputs[i], i));
  state.feedback_used = int64_t(f.number("feedback_used", 0));
  state.train_files = string_list(f, "train_files");
  state.validation_files = string_list(f, "validation_files");
  if (f.has("version")) state.version = int64_t(f.number("version", 0));
  return state;
}

void write_watch_state(const LoopFolder& folder, const WatchState& state) {
  json inputs = json::array();
  for (const InputFile& in : state.inputs)
    inputs.push_back({{"cycle", in.cycle}, {"source", in.source}, {"stored", in.stored}, {"records", in.records},
                      {"hash", in.hash}});
  const json j = {{"cycle", state.cycle},
                  {"phase", phase_name(state.phase)},
                  {"inputs", inputs},
                  {"feedback_used", state.feedback_used},
                  {"train_files", state.train_files},
                  {"validation_files", state.validation_files},
                  {"version", state.version ? json(*state.version) : json(nullptr)}};
  fs::create_directories(folder.root());
  write_file_atomic(folder.state_path(), j.dump(2) + "\n");
}

}  // namespace whet::loop
