#pragma once
// One cycle of `whet watch`: collect → prepare → train → evaluate → register →
// decide. Each phase is a function that writes its outputs and then the state,
// so `finish_cycle` can be called on a cycle in any phase, after a kill, and
// does only what is left.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "loop/incoming.h"
#include "loop/loop_state.h"
#include "loop/watch_config.h"
#include "track/registry_store.h"
#include "train/trainer.h"

namespace whet::loop {

struct Cycle {
  const WatchConfig& config;
  const LoopFolder& folder;
  track::RegistryStore& registry;
  WatchState& state;
  const std::atomic<bool>* stop = nullptr;  // Ctrl-C: training checkpoints and the cycle waits for the next start
  std::function<void(const std::string&)> say;
  std::function<void(const StepReport&)> on_report;  // training progress
};

// Opens the next cycle on the new files and feedback records: copies them
// under inputs/ (kept, so later cycles train on them too) and records them.
void open_cycle(Cycle& cycle, const std::vector<NewFile>& files, const std::vector<std::string>& feedback);

// Runs what is left of the open cycle. False when it was stopped during training.
bool finish_cycle(Cycle& cycle);

}  // namespace whet::loop
