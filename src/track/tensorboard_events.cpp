#include "track/tensorboard_events.h"

#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "track/crc32c.h"
#include "track/run_folder.h"

namespace whet::track {

namespace {

static_assert(std::endian::native == std::endian::little, "the fixed-width fields below are written in memory order");

// Protocol buffers' wire format: a key is (field number << 3) | wire type.
enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char(uint8_t(value) | 0x80));
    value >>= 7;
  }
  out.push_back(char(value));
}
void put_key(std::string& out, uint32_t field, WireType type) { put_varint(out, uint64_t(field) << 3 | type); }
template <typename T>
void put_fixed(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}
void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
constexpr uint32_t kSummaryValue = 1, kValueTag = 1, kValueSimpleValue = 2;

std::string event_start(double wall_time) {
  std::string event;
  put_key(event, kEventWallTime, kFixed64);
  put_fixed(event, wall_time);
  return event;
}

}  // namespace

std::string tfrecord(std::string_view data) {
  std::string length;
  put_fixed(length, uint64_t(data.size()));
  std::string record = length;
  put_fixed(record, masked_crc32c(length));
  record.append(data);
  put_fixed(record, masked_crc32c(data));
  return record;
}

std::string file_version_event(double wall_time) {
  std::string event = event_start(wall_time);
  put_bytes(event, kEventFileVersion, "brain.Event:2");
  return event;
}

std::string scalar_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& values) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    std::string entry;
    put_bytes(entry, kValueTag, tag);
    put_key(entry, kValueSimpleValue, kFixed32);
    put_fixed(entry, value);
    put_bytes(summary, kSummaryValue, entry);
  }
  std::string event = event_start(wall_time);
  put_key(event, kEventStep, kVarint);
  put_varint(event, uint64_t(step));
  put_bytes(event, kEventSummary, summary);
  return event;
}

std::string write_tensorboard_events(const std::string& dir, const std::vector<StoredMetric>& metrics) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail(dir, "cannot create the folder: {}", error.message());
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string host = this_host();
  const std::string path = fmt::format("{}/events.out.tfevents.{}.{}", dir, int64_t(now), host.empty() ? "whet" : host);
  AtomicFile file(path);
  file.write(tfrecord(file_version_event(metrics.empty() ? now : metrics.front().row.time)));
  for (size_t i = 0; i < metrics.size();) {
    const MetricRow& first = metrics[i].row;
    std::vector<std::pair<std::string, float>> values;
    for (; i < metrics.size() && metrics[i].row.step == first.step && metrics[i].row.time == first.time; ++i)
      values.emplace_back(metrics[i].row.name, float(metrics[i].row.value));
    file.write(tfrecord(scalar_event(first.time, first.step, values)));
  }
  file.commit();
  return path;
}

}  // namespace whet::track
