#pragma once
// A run folder's metrics.jsonl split into its step lines and its evaluation lines.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace whet::test {

struct RunMetrics {
  std::vector<nlohmann::json> steps, evals;  // in order; a step line has "loss", an evaluation none
};

inline RunMetrics read_run_metrics(const std::string& run_dir) {
  RunMetrics m;
  std::ifstream in(run_dir + "/metrics.jsonl");
  EXPECT_TRUE(in.good()) << run_dir << "/metrics.jsonl";
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    (j.contains("loss") ? m.steps : m.evals).push_back(j);
  }
  return m;
}

}  // namespace whet::test
