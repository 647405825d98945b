#include "track/run_metrics_tail.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "track/run_folder.h"

namespace whet::track {

namespace {

// How many bytes before the offset vouch that the file is the one read before.
constexpr int64_t kCheckBytes = 256;
// A sync reads at most this much of one file; the rest waits for the next.
constexpr int64_t kMaxReadBytes = int64_t(64) << 20;

std::string read_range(std::ifstream& in, int64_t offset, int64_t count) {
  std::string bytes(size_t(count), '\0');
  in.seekg(offset);
  in.read(bytes.data(), count);
  bytes.resize(size_t(in.gcount()));
  in.clear();
  return bytes;
}

std::string check_of(std::ifstream& in, int64_t offset) {
  const int64_t start = std::max<int64_t>(0, offset - kCheckBytes);
  const std::string bytes = read_range(in, start, offset - start);
  return fmt::format("{:016x}", XXH3_64bits(bytes.data(), bytes.size()));
}


// One complete line into rows; the reason it is not a metrics line otherwise.
std::string read_line(std::string_view line, double started_at, double& last_time, std::vector<MetricRow>& rows) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "not JSON";
  if (!j.is_object()) return "not a JSON object";
  const auto step = j.find("step");
  if (step == j.end() || !step->is_number_integer()) return "no integer \"step\"";
  const auto elapsed = j.find("elapsed_s");
  if (elapsed != j.end() && elapsed->is_number() && started_at > 0) last_time = started_at + elapsed->get<double>();
  for (const auto& [name, value] : j.items()) {
    if (name == "step" || !value.is_number()) continue;  // null: a value the trainer could not compute
    const double v = value.get<double>();
    if (std::isfinite(v)) rows.push_back({step->get<int64_t>(), name, v, last_time});
  }
  return "";
}

}  // namespace

TailResult tail_metrics(const std::string& path, const TailPosition& from, double started_at) {
  TailResult result;
  result.position = from;
  std::ifstream in(path, std::ios::binary);
  if (!in) return result;  // not written yet
  in.seekg(0, std::ios::end);
  const int64_t size = int64_t(in.tellg());
  if (from.offset > size || (from.offset > 0 && check_of(in, from.offset) != from.check)) {
    result.restarted = true;
    result.position = TailPosition{};
  }
  TailPosition& at = result.position;
  if (at.last_time == 0) at.last_time = modified_time(path);
  const std::string bytes = read_range(in, at.offset, std::min(size - at.offset, kMaxReadBytes));
  size_t start = 0;
  for (size_t end; (end = bytes.find('\n', start)) != std::string::npos; start = end + 1) {
    ++at.lines;
    std::string_view line(bytes.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string reason = read_line(line, started_at, at.last_time, result.rows);
    if (!reason.empty()) result.bad_lines.push_back(fmt::format("[{}:{}] {}", path, at.lines, reason));
  }
  at.offset += int64_t(start);
  at.check = check_of(in, at.offset);
  return result;
}

}  // namespace whet::track
