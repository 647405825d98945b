#pragma once
// A study's trials in words for people, the one wording of the report and the
// plots' tooltips (Optuna's own names are in tune/study_columns.h).
#include <optional>
#include <string>
#include <string_view>

#include "tune/trial.h"

namespace whet::tune {

std::string_view state_text(TrialState state);  // "running", "complete", "pruned", "failed", "waiting"
std::string_view direction_text(Direction direction);  // "minimise", "maximise"
std::string value_text(const std::optional<double>& value);  // 6 significant digits; "" for none

}  // namespace whet::tune
