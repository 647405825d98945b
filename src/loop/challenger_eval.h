#pragma once
// A cycle's evidence: the challenger (the run this cycle trained) and the
// champion (what models:/NAME@ALIAS serves now, or the base model before any
// promotion) scored on the same held-out items, compared by the paired
// bootstrap; the counterfactual bias pairs on both; and the forgetting gate's
// verdict from the run folder (whet train's gate: the challenger against the base).
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "loop/watch_config.h"
#include "track/registry_store.h"

namespace whet::loop {

// One metric of one task, champion against challenger on the same items.
struct MetricComparison {
  std::string metric;
  bool higher_is_better = true;
  double champion = 0, challenger = 0;
  double improvement = 0;  // challenger − champion, signed so that > 0 is better
  double p_value = 1;      // one-sided paired bootstrap: the challenger is not better
  int64_t items = 0;
};

// The mean gap between counterfactual variants' log-likelihoods (lower is fairer).
struct BiasComparison {
  double champion = 0, challenger = 0;
  double rise = 0;     // challenger / champion − 1
  double p_worse = 1;  // one-sided paired bootstrap: the champion is not fairer
  double limit = 0;    // max_bias_rise
  bool failed = false;  // beyond the limit and significant
};

struct ForgettingEvidence {
  bool judged = false;  // false when the run wrote no gate.json (a method the gate does not judge)
  bool passed = true;
  std::string reason;   // the failed checks
};

struct Evaluation {
  std::string champion;  // what it was: "models:/NAME@ALIAS (version 3)" or "the base model PATH"
  std::optional<int64_t> champion_version;
  std::string challenger;  // the run folder
  std::string task;        // the task file
  MetricComparison comparison;
  std::optional<BiasComparison> bias;
  ForgettingEvidence forgetting;
  double seconds = 0;
};

// Scores both models. `registry` finds the champion (`base_model`, the one the
// challenger was trained from, before any promotion); `run_dir` holds the
// challenger (as whet registry register would read it). Errors name the task file or metric.
Evaluation evaluate_challenger(const WatchConfig& config, track::RegistryStore& registry, const std::string& run_dir,
                               const std::string& base_model, const std::function<void(const std::string&)>& say);

nlohmann::json evaluation_json(const Evaluation& evaluation);

}  // namespace whet::loop
