#pragma once
// A Distribution as Optuna writes it in trial_params.distribution_json,
// {"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05,
// "high": 0.01, "log": true}} (IntDistribution, CategoricalDistribution alike).
// A value's two forms, internal and external, are tune/param_values.h's.
#include <nlohmann/json.hpp>
#include <string_view>

#include "tune/trial.h"

namespace whet::tune {

// Attributes in Optuna's order, so python_json() of it is byte for byte the
// text Optuna writes for the same distribution.
nlohmann::ordered_json distribution_to_json(const Distribution& distribution);

// Reads Optuna's form; anything else (a deprecated UniformDistribution, a
// missing or mistyped attribute) is a whet::Error naming `where`.
Distribution distribution_from_json(const nlohmann::json& json, std::string_view where);

}  // namespace whet::tune
