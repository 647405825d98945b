#include "tune/study_columns.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <utility>

namespace whet::tune {
namespace {

constexpr std::array<std::pair<TrialState, std::string_view>, 5> kStateNames = {{{TrialState::Running, "RUNNING"},
                                                                                 {TrialState::Complete, "COMPLETE"},
                                                                                 {TrialState::Pruned, "PRUNED"},
                                                                                 {TrialState::Fail, "FAIL"},
                                                                                 {TrialState::Waiting, "WAITING"}}};

}  // namespace

std::string_view state_name(TrialState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "";
}

std::optional<TrialState> parse_state_name(std::string_view name) {
  for (const auto& [state, n] : kStateNames) {
    if (n == name) return state;
  }
  return std::nullopt;
}

std::string_view direction_name(Direction direction) {
  return direction == Direction::Minimize ? "MINIMIZE" : "MAXIMIZE";
}

std::optional<Direction> parse_direction_name(std::string_view name) {
  if (name == "MINIMIZE") return Direction::Minimize;
  if (name == "MAXIMIZE") return Direction::Maximize;
  return std::nullopt;  // also Optuna's NOT_SET
}

StoredValue stored_value(double value) {
  if (std::isnan(value)) return {std::nullopt, "NAN"};
  if (std::isinf(value)) return {std::nullopt, value > 0 ? "INF_POS" : "INF_NEG"};
  return {value, "FINITE"};
}

std::optional<double> value_from_stored(std::optional<double> number, std::string_view type) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (type == "FINITE" && number) return *number;
  if (type == "INF_POS") return kInf;
  if (type == "INF_NEG") return -kInf;
  if (type == "NAN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

std::string optuna_datetime_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1'000'000;
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                     local.tm_hour, local.tm_min, local.tm_sec, micros);
}

}  // namespace whet::tune
