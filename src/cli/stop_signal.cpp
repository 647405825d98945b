#include "cli/stop_signal.h"

namespace whet::cli {

namespace {

std::atomic<bool> g_stop_requested{false};
extern "C" void request_stop(int) { g_stop_requested.store(true); }

}  // namespace

StopOnSignal::StopOnSignal(std::initializer_list<int> signals) : signals_(signals) {
  for (int s : signals_) std::signal(s, request_stop);
}

StopOnSignal::~StopOnSignal() {
  for (int s : signals_) std::signal(s, SIG_DFL);
}

const std::atomic<bool>& StopOnSignal::requested() const { return g_stop_requested; }

}  // namespace whet::cli
