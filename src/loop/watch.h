#pragma once
// `whet watch PIPELINE.yaml`: continuous training with a gate (docs/loop.md).
// It looks for new data every poll_seconds; when enough has arrived it runs a
// cycle (loop/cycle.h), and a cycle left unfinished by a kill is finished first.
// One process per loop: DATA/loops/NAME is locked while it runs.
#include <atomic>
#include <functional>
#include <string>

#include "loop/incoming.h"
#include "loop/watch_config.h"
#include "train/trainer.h"

namespace whet::loop {

struct WatchOptions {
  std::string data_dir;  // the server's data folder: the registry, and DATA/loops/NAME
  bool once = false;     // return after the unfinished cycle, or after one cycle if data is due, or at once
  const std::atomic<bool>* stop = nullptr;  // Ctrl-C: training checkpoints, the loop returns
  FeedbackRecords feedback;                 // null when there is no server store to read
  std::function<void(const std::string&)> say;
  std::function<void(const StepReport&)> on_report;
};

struct WatchResult {
  int64_t cycles_decided = 0;
  bool stopped = false;
};

WatchResult watch(const WatchConfig& config, const WatchOptions& options);

}  // namespace whet::loop
