#pragma once
// A run's metrics.jsonl split into its step lines and its evaluation lines.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace whet::test {

struct RunMetrics {
  std::vector<nlohmann::json> steps, evals;  // steps have "loss"; evaluations do not
};

inline RunMetrics read_run_metrics(const std::string& path) {
  RunMetrics m;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    (j.contains("loss") ? m.steps : m.evals).push_back(std::move(j));
  }
  return m;
}

}  // namespace whet::test
