#pragma once
// The search space of a study (SPACE.yaml): which training-config keys a study
// varies, each with its distribution in Optuna's words, and the conditions
// under which a key is searched at all (lora_r only when method is lora).
//
//   learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
//   num_epochs:    {type: int, low: 1, high: 4}
//   method:        {type: categorical, choices: [lora, full]}
//   lora_r:        {type: int, low: 4, high: 32, step: 4, when: {method: lora}}
//
// docs/tune.md describes the file; errors are whet::Error "[file:line] key: problem".
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "io/yaml_config.h"
#include "tune/trial.h"

namespace whet::tune {

// A parameter is searched only while another one, a categorical of the same
// space, holds one of some choices.
struct Condition {
  std::string parent;
  std::vector<std::size_t> choices;  // indexes into the parent's choices
  friend bool operator==(const Condition&, const Condition&) = default;
};

struct Parameter {
  std::string name;  // a training-config key
  Distribution distribution;
  std::vector<double> grid;     // the grid sampler's values (float, int); empty: low to high by step
  std::vector<Condition> when;  // every one must hold, its parent active too
  std::string where;            // "space.yaml:3", for messages about the parameter
};

struct SearchSpace {
  std::string file;
  // File order, except that a parameter comes after every parent its `when` names.
  std::vector<Parameter> parameters;

  const Parameter* find(std::string_view name) const;
};

// Reads SPACE.yaml; its keys must be keys of the training config (train_config_keys()).
SearchSpace load_search_space(const std::string& path);
// The same from text, the keys checked against `known_keys`; `file` names it in errors.
SearchSpace parse_search_space(const std::string& text, std::string_view file, yaml::Names known_keys);

// Whether `parameter` is searched, given the internal values (trial.h) of the
// parameters sampled so far: each condition's parent was sampled with one of its choices.
bool is_active(const Parameter& parameter, const std::map<std::string, double>& values);

}  // namespace whet::tune
