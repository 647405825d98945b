#pragma once
// A training run with what it said, for tests that check its messages too.
#include <string>
#include <string_view>
#include <vector>

#include "train/trainer.h"

namespace whet::test {

struct HeardRun {
  TrainRunResult result;
  std::vector<std::string> said;  // every message, in order
  bool said_containing(std::string_view text) const {
    for (const std::string& line : said)
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
};

inline HeardRun run_and_listen(const TrainConfig& config) {
  HeardRun heard;
  TrainRunOptions options;
  options.on_message = [&](const std::string& line) { heard.said.push_back(line); };
  heard.result = run_training(config, options);
  return heard;
}

}  // namespace whet::test
