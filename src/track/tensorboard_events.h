#pragma once
// A run's scalars as a TensorBoard event file, so `tensorboard --logdir DIR`
// draws its curves. The file is TFRecord-framed (each record: uint64 length,
// masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes, all
// little-endian) Event protocol buffers, encoded here by hand: the first holds
// file_version "brain.Event:2", each further one a wall_time, a step and a
// Summary of {tag, simple_value} values.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "track/run_store.h"

namespace whet::track {

// One TFRecord: the framing around `data`.
std::string tfrecord(std::string_view data);

// Event{wall_time, file_version}.
std::string file_version_event(double wall_time);
// Event{wall_time, step, summary{value{tag, simple_value}...}}.
std::string scalar_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& values);

// Writes DIR/events.out.tfevents.<seconds>.<host> (atomically) with every row,
// the values of one step and time in one event, each metric's name its tag.
// Returns the file's path.
std::string write_tensorboard_events(const std::string& dir, const std::vector<StoredMetric>& metrics);

}  // namespace whet::track
