#pragma once
// Runs side by side: the config keys whose values differ between them, and
// each metric's best and last value per run.
// {"runs": [run...], "differing_params": {key: {run_id: value}},
//  "metrics": {name: {run_id: {"best", "last"}}}}; a key a run lacks is null for it.
#include <nlohmann/json.hpp>
#include <vector>

namespace whet::track {

nlohmann::json compare_runs(const std::vector<nlohmann::json>& runs);

}  // namespace whet::track
