#pragma once
// A loop's folder, DATA/loops/NAME, and the state that lets `whet watch` pick
// up where a killed process stopped. Each phase of a cycle writes its outputs
// first and then state.json (atomically), so the state never claims a phase
// whose outputs are not in place; a phase found unfinished is run again
// (training resumes from its newest checkpoint).
//
//   DATA/loops/NAME/state.json        the newest cycle, its phase, every input consumed
//   DATA/loops/NAME/inputs/           copies of the files consumed (and the feedback exported), kept
//   DATA/loops/NAME/cycles/0003/      data/ (prepared), run/ (the challenger's run folder),
//                                     evaluation.json, decision.json
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whet::loop {

// What the newest cycle has finished, in order. Decided also stands for "no cycle yet".
enum class Phase { Collected, Prepared, Trained, Evaluated, Registered, Decided };
std::string_view phase_name(Phase phase);

// One file of data a cycle consumed.
struct InputFile {
  int64_t cycle = 0;
  std::string source;   // the file's name in the incoming folder, or "feedback"
  std::string stored;   // its copy under inputs/ (absolute), which every later cycle trains on too
  int64_t records = 0;  // non-empty lines
  std::string hash;     // content_hash of the file when consumed
};

struct WatchState {
  int64_t cycle = 0;  // the newest cycle opened; 0 = none yet
  Phase phase = Phase::Decided;
  std::vector<InputFile> inputs;  // oldest first
  int64_t feedback_used = 0;      // feedback records already consumed (they are appended in order)
  // Set as the cycle goes: the training files it prepared, the version it registered.
  std::vector<std::string> train_files, validation_files;
  std::optional<int64_t> version;

  bool cycle_open() const { return cycle > 0 && phase != Phase::Decided; }
};

class LoopFolder {
 public:
  LoopFolder(const std::string& data_dir, const std::string& name);

  const std::string& root() const { return root_; }
  std::string state_path() const { return root_ + "/state.json"; }
  std::string inputs_dir() const { return root_ + "/inputs"; }
  std::string cycle_dir(int64_t cycle) const;  // cycles/0003
  std::string data_dir(int64_t cycle) const { return cycle_dir(cycle) + "/data"; }
  std::string run_dir(int64_t cycle) const { return cycle_dir(cycle) + "/run"; }
  std::string evaluation_path(int64_t cycle) const { return cycle_dir(cycle) + "/evaluation.json"; }
  std::string decision_path(int64_t cycle) const { return cycle_dir(cycle) + "/decision.json"; }

 private:
  std::string root_;
};

// The state, or a fresh one when the folder has none; whet::Error naming the
// file and field when it is not a state.
WatchState read_watch_state(const LoopFolder& folder);
void write_watch_state(const LoopFolder& folder, const WatchState& state);

}  // namespace whet::loop
