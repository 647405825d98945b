#include "loop/watch.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/folder_lock.h"
#include "loop/cycle.h"
#include "loop/loop_state.h"
#include "track/registry_store.h"

namespace whet::loop {

namespace {

bool stopped(const WatchOptions& o) { return o.stop && o.stop->load(); }

// What arrived since the last cycle, and whether it is enough to start one.
struct Arrivals {
  std::vector<NewFile> files;
  std::vector<std::string> feedback;
  int64_t records = 0;

  bool due(const WatchConfig& config) const {
    return (!files.empty() && records >= config.min_new_records) ||
           (config.feedback_threshold > 0 && int64_t(feedback.size()) >= config.feedback_threshold);
  }
};

Arrivals look(const WatchConfig& config, const WatchState& state, const WatchOptions& o) {
  Arrivals a;
  a.files = new_files(config.incoming, state);
  for (const NewFile& f : a.files) a.records += f.records;
  if (config.feedback_threshold > 0 && o.feedback) {
    std::vector<std::string> all = o.feedback();
    if (int64_t(all.size()) > state.feedback_used) a.feedback.assign(all.begin() + state.feedback_used, all.end());
  }
  return a;
}

// Sleeps for the poll interval, waking early for Ctrl-C.
void wait_for_poll(const WatchConfig& config, const WatchOptions& o) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(config.poll_seconds);
  while (!stopped(o) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

WatchResult watch(const WatchConfig& config, const WatchOptions& o) {
  const LoopFolder folder(o.data_dir, config.name);
  std::filesystem::create_directories(folder.root());
  const FolderLock lock(folder.root(), "whet watch");
  track::RegistryStore registry(o.data_dir);
  WatchState state = read_watch_state(folder);
  Cycle cycle{config, folder, registry, state, o.stop, o.say, o.on_report};
  WatchResult result;
  if (state.cycle_open()) o.say(fmt::format("cycle {}: continuing after '{}'", state.cycle, phase_name(state.phase)));
  while (!stopped(o)) {
    if (state.cycle_open()) {
      if (!finish_cycle(cycle)) break;
      ++result.cycles_decided;
      if (o.once) return result;
      continue;
    }
    const Arrivals arrivals = look(config, state, o);
    if (arrivals.due(config)) {
      open_cycle(cycle, arrivals.files, arrivals.feedback);
      continue;
    }
    if (o.once) {
      o.say(fmt::format("nothing due: {} new record(s) in {} file(s), {} new feedback record(s)", arrivals.records,
                        arrivals.files.size(), arrivals.feedback.size()));
      return result;
    }
    wait_for_poll(config, o);
  }
  result.stopped = true;
  return result;
}

}  // namespace whet::loop
