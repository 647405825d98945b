#pragma once
// A parameter's value in its two forms: Optuna's internal one (trial.h: the
// number itself, or a categorical's index), which samplers and the study keep,
// and the value the training config reads.
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tune/search_space.h"
#include "tune/trial.h"

namespace whet::tune {

// 3e-4 (as sampled; a stepped float to 15 significant digits), 16, or the chosen item ("lora", true, 8).
nlohmann::json external_value(const Distribution& distribution, double internal);

// "lora_r=16", "method=\"lora\"": an override load_train_config reads (its value is YAML, and JSON is YAML).
std::string config_override(std::string_view name, const Distribution& distribution, double internal);

// "learning_rate=0.0003, lora_r=16": a trial's values in the config's words, for people.
std::string params_text(const Trial& trial);

// The distribution of each parameter in `params` (sampled from `space`), for Trial::distributions.
std::map<std::string, Distribution> distributions_of(const SearchSpace& space,
                                                     const std::map<std::string, double>& params);

}  // namespace whet::tune
