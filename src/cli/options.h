#pragma once
// Options shared by several commands, each declared once: which model and how
// to hold it, and how to sample.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "models/model_loader.h"

namespace whet::cli {

struct ModelOptions {
  std::string path;
  std::string weights = "native";
  int threads = 0;  // 0: all cores

  // Adds MODEL (positional) plus --weights and --threads.
  void add_to(CLI::App& command);
  // Sets the thread count, then loads; prints where it came from to stderr.
  LoadedModel load() const;
};

struct SamplingOptions {
  GenerationOptions generation;
  void add_to(CLI::App& command);
};

// Default model location (the cache scripts/fetch_model.sh fills), used when MODEL is omitted.
std::string default_model_path();

}  // namespace whet::cli
