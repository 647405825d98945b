#pragma once
// Keeps a RunStore in step with its folders: a thread syncs it about once a
// second, so a run training from the command line into DATA/runs/x appears and
// grows while it trains. Readers that stream changes (the server's
// /v1/runs/{id}/events) wait on it instead of polling the database.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "track/run_store.h"

namespace whet::track {

class RunWatcher {
 public:
  // `on_problem` hears each problem a sync finds (bad metrics lines, unreadable
  // files) and a sync that failed; a failed sync is tried again at the next tick.
  RunWatcher(RunStore& store, std::chrono::milliseconds period, std::function<void(const std::string&)> on_problem);
  ~RunWatcher();  // stops the thread and wakes every waiter
  RunWatcher(const RunWatcher&) = delete;
  RunWatcher& operator=(const RunWatcher&) = delete;

  // Counts the syncs that changed something.
  uint64_t generation() const { return generation_; }
  // Waits until the generation passes `seen`, the watcher stops, or `timeout`
  // passes; returns the generation then.
  uint64_t wait_for_change(uint64_t seen, std::chrono::milliseconds timeout);
  // Ends the syncs and wakes every waiter; readers see stopping() from then on.
  void stop();
  bool stopping() const { return stopping_; }

 private:
  void run();

  RunStore& store_;
  std::chrono::milliseconds period_;
  std::function<void(const std::string&)> on_problem_;
  std::mutex mutex_;
  std::condition_variable changed_, stop_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace whet::track
