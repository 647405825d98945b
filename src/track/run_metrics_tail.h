#pragma once
// Reads what a run appended to its metrics.jsonl since the last time, so the
// store follows a training run as it goes without reading its file again.
// A partial last line (the trainer is writing it) waits for the next read; a
// line that is not a metrics object is counted and named "[file:line] reason",
// then passed. A file that no longer continues what was read (a resumed run
// rewrites it from its checkpoint) is read again from its start.
#include <cstdint>
#include <string>
#include <vector>

namespace whet::track {

// One value of one line: {"step": 10, "loss": 2.1, "lr": 1e-4} gives two.
struct MetricRow {
  int64_t step = 0;
  std::string name;
  double value = 0;
  double time = 0;  // seconds since the epoch
};

// Where the next read starts, kept in the store between reads.
struct TailPosition {
  int64_t offset = 0;  // bytes of complete lines read
  int64_t lines = 0;   // how many lines those were
  std::string check;   // a hash of the bytes just before offset: the file still continues them
  double last_time = 0;  // the newest row's time
};

struct TailResult {
  std::vector<MetricRow> rows;
  TailPosition position;
  bool restarted = false;              // read from the start: what was read before is to be forgotten
  std::vector<std::string> bad_lines;  // "[path:line] reason", the lines passed over
};

// The rows after `from`. A row's time is `started_at` + the line's elapsed_s, or
// the time of the line before it (an evaluation), or the file's modification time.
TailResult tail_metrics(const std::string& path, const TailPosition& from, double started_at);

}  // namespace whet::track
