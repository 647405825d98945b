#pragma once
// A study as JSON, the one form the tests compare studies in: C++ against C++
// (NaN equal to NaN), and Whet against Optuna (tests/python/check_optuna_study.py
// and make_optuna_study.py read and write the same form). Numbers that JSON
// cannot hold are strings: "nan", "inf", "-inf"; parameters are their external
// values (a categorical's choice, not its index).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tune/best_trial.h"
#include "tune/distribution_json.h"
#include "tune/param_values.h"
#include "tune/study_columns.h"
#include "tune/study_store.h"

namespace whet::test {

inline nlohmann::json number_json(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

// {"number", "state": "COMPLETE", "params": {name: value}, "distributions":
// {name: Optuna's JSON}, "value": number or null, "intermediate_values":
// {"step": number}, "note"}.
inline nlohmann::json trial_json(const tune::Trial& trial) {
  nlohmann::json params = nlohmann::json::object(), distributions = nlohmann::json::object();
  for (const auto& [name, value] : trial.params) {
    params[name] = tune::external_value(trial.distributions.at(name), value);
    distributions[name] = tune::distribution_to_json(trial.distributions.at(name));
  }
  nlohmann::json intermediate = nlohmann::json::object();
  for (const auto& [step, value] : trial.intermediate) intermediate[std::to_string(step)] = number_json(value);
  return {{"number", trial.number},
          {"state", tune::state_name(trial.state)},
          {"params", params},
          {"distributions", distributions},
          {"value", trial.value ? number_json(*trial.value) : nlohmann::json(nullptr)},
          {"intermediate_values", intermediate},
          {"note", trial.note}};
}

inline nlohmann::json trials_json(const std::vector<tune::Trial>& trials) {
  nlohmann::json list = nlohmann::json::array();
  for (const tune::Trial& trial : trials) list.push_back(trial_json(trial));
  return list;
}

// The whole study as the Python scripts read and write it: each trial with its
// user attributes, and the best trial's number (null while none is complete).
inline nlohmann::json study_json(tune::StudyStore& store, const std::string& study_name) {
  const std::vector<tune::Trial> trials = store.trials();
  nlohmann::json list = trials_json(trials);
  for (nlohmann::json& trial : list) trial["user_attrs"] = store.trial_attrs(trial["number"].get<int64_t>());
  const std::optional<tune::Trial> best = tune::best_trial(trials, store.direction());
  return {{"study_name", study_name},
          {"direction", store.direction() == tune::Direction::Minimize ? "minimize" : "maximize"},
          {"study_user_attrs", store.study_attrs()},
          {"trials", list},
          {"best_trial", best ? nlohmann::json(best->number) : nlohmann::json(nullptr)}};
}

}  // namespace whet::test
