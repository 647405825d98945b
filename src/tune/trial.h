#pragma once
// A hyperparameter study's vocabulary, in Optuna's words so that its users
// (and optuna-dashboard, which opens a Whet study.db) read it alike: a study
// runs numbered trials; each samples a value per parameter from its
// distribution, may report intermediate values by step, and ends complete
// (with its objective value), pruned, or failed.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace whet::tune {

enum class Direction { Minimize, Maximize };

// Optuna's TrialState, in its order (the study database stores the names).
enum class TrialState { Running, Complete, Pruned, Fail, Waiting };

// Where a parameter's values come from: Optuna's FloatDistribution,
// IntDistribution (step ≥ 1) and CategoricalDistribution.
struct Distribution {
  enum class Kind { Float, Int, Categorical };
  Kind kind = Kind::Float;
  double low = 0, high = 0;
  bool log = false;
  double step = 0;                      // 0: continuous (float only); int: ≥ 1
  std::vector<nlohmann::json> choices;  // categorical: strings, numbers, booleans or null
  friend bool operator==(const Distribution&, const Distribution&) = default;
};

struct Trial {
  int64_t number = 0;  // 0, 1, 2, ... in the order trials started
  TrialState state = TrialState::Running;
  // Each sampled parameter in Optuna's internal form: the value itself for
  // float and int, the index into `choices` for a categorical.
  std::map<std::string, double> params;
  std::map<std::string, Distribution> distributions;
  std::optional<double> value;            // the objective, once complete
  std::map<int64_t, double> intermediate;  // reported value by step
  std::string note;                        // why it was pruned or failed, for people
  std::vector<double> fold_values;         // cross-validated: each fold's value so far; the value is their mean
  friend bool operator==(const Trial&, const Trial&) = default;
};

}  // namespace whet::tune
