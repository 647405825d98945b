#pragma once
// JSON text as Python's json.dumps writes it by default: ", " between items,
// ": " after keys, every character past ASCII escaped as \uXXXX, floats in
// their shortest round-trip form ("1e-05", "4.0"). Optuna writes the study
// database's JSON columns so (distribution_json, attribute values), and Whet
// writes the same bytes, so a study reads alike whoever wrote a row.
#include <nlohmann/json.hpp>
#include <string>

namespace whet::tune {

std::string python_json(const nlohmann::ordered_json& value);

}  // namespace whet::tune
