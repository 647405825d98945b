#include "tune/trial_text.h"

#include <fmt/format.h>

#include <array>

namespace whet::tune {

std::string_view state_text(TrialState state) {
  constexpr std::array<std::string_view, 5> kNames = {"running", "complete", "pruned", "failed", "waiting"};
  return kNames[std::size_t(state)];
}

std::string_view direction_text(Direction d) { return d == Direction::Minimize ? "minimise" : "maximise"; }

std::string value_text(const std::optional<double>& value) { return value ? fmt::format("{:.6g}", *value) : ""; }

}  // namespace whet::tune
