#pragma once
// What the dashboard and GET /v1/loops show of the loops in a data folder:
// each loop's state and its cycles' decisions with their evidence, read from
// DATA/loops/NAME as `whet watch` wrote it.
#include <nlohmann/json.hpp>
#include <string>

namespace whet::loop {

// {"object": "list", "data": [{"name", "cycle", "phase", "inputs", "last_decision"}]}, by name.
nlohmann::json loops_json(const std::string& data_dir);

// {"name", "cycle", "phase", "inputs", "cycles": [{"cycle", "phase", "decision" (decision.json or null),
// "evaluation" (evaluation.json, null until evaluated)}]}, newest cycle first. whet::Error
// "[loops] no loop named ..." listing those there are.
nlohmann::json loop_json(const std::string& data_dir, const std::string& name);

}  // namespace whet::loop
