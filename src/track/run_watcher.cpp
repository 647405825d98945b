#include "track/run_watcher.h"

#include <exception>

namespace whet::track {

RunWatcher::RunWatcher(RunStore& store, std::chrono::milliseconds period,
                       std::function<void(const std::string&)> on_problem)
    : store_(store), period_(period), on_problem_(std::move(on_problem)), thread_([this] { run(); }) {}

RunWatcher::~RunWatcher() {
  stop();
  thread_.join();
}

void RunWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  changed_.notify_all();
}

void RunWatcher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    bool changed = false;
    try {
      const SyncReport report = store_.sync();
      changed = report.changed_runs > 0 || report.new_metrics > 0;
      for (const std::string& problem : report.problems) on_problem_(problem);
    } catch (const std::exception& e) {
      on_problem_(std::string("run tracking: the sync failed: ") + e.what());
    }
    lock.lock();
    if (changed) {
      ++generation_;
      changed_.notify_all();
    }
    stop_.wait_for(lock, period_, [this] { return stopping_.load(); });
  }
}

uint64_t RunWatcher::wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return generation_ != seen || stopping_; });
  return generation_;
}

}  // namespace whet::track
