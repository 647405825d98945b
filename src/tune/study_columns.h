#pragma once
// How the study database's columns hold Whet's values, in Optuna's words:
// states and directions by their enum names, an objective or intermediate
// value as a number plus a type (an infinity or NaN has no number), times as
// SQLAlchemy writes a naive local datetime.
#include <optional>
#include <string>
#include <string_view>

#include "tune/trial.h"

namespace whet::tune {

std::string_view state_name(TrialState state);  // "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"
std::optional<TrialState> parse_state_name(std::string_view name);
std::string_view direction_name(Direction direction);  // "MINIMIZE", "MAXIMIZE"
std::optional<Direction> parse_direction_name(std::string_view name);

// trial_values (value, value_type) and trial_intermediate_values
// (intermediate_value, intermediate_value_type): FINITE with the number, or
// INF_POS, INF_NEG, NAN (intermediate values only) with NULL.
struct StoredValue {
  std::optional<double> number;
  std::string_view type;
};
StoredValue stored_value(double value);
// The value back; nullopt for a type Optuna does not write (the caller names the row).
std::optional<double> value_from_stored(std::optional<double> number, std::string_view type);

// Now as Optuna records datetime_start and datetime_complete: local time,
// "2026-12-05 17:00:19.800791".
std::string optuna_datetime_now();

}  // namespace whet::tune
