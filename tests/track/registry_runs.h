#pragma once
// Run folders as `whet train` leaves them (config.yaml, adapter/, run.json,
// gate.json), made from the tiny test model's PEFT adapter, for the registry's
// store, command-line and server tests.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "io/json_fields.h"
#include "test_support.h"
#include "train/train_config.h"

namespace whet::test {

inline std::string tiny_base() { return testdata_path("tiny/gqa_tied/hf"); }
inline std::string tiny_lora() { return testdata_path("tiny/gqa_tied/gradients/lora"); }

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// An adapter that answers unlike tiny_lora(): the same matrices at another strength.
inline std::string rescaled_lora(const std::string& dir, double lora_alpha) {
  std::filesystem::remove_all(dir);
  std::filesystem::copy(tiny_lora(), dir, std::filesystem::copy_options::recursive);
  nlohmann::json config = read_json_object(dir + "/adapter_config.json");
  config["lora_alpha"] = lora_alpha;
  write_text(dir + "/adapter_config.json", config.dump(2));
  return dir;
}

// A run folder holding `adapter` as its adapter/, trained on the tiny base;
// `gate_passed` writes a gate.json with that verdict (none when unset).
inline std::string make_run(const std::string& run, const std::string& adapter, const std::string& run_id,
                            std::optional<bool> gate_passed = std::nullopt) {
  namespace fs = std::filesystem;
  fs::remove_all(run);
  fs::create_directories(run);
  fs::copy(adapter, run + "/adapter", fs::copy_options::recursive);
  TrainConfig config;
  config.base_model = tiny_base();
  config.output_dir = run;
  write_text(run + "/config.yaml", dump_train_config(config));
  if (!run_id.empty()) write_text(run + "/run.json", nlohmann::json{{"id", run_id}}.dump());
  if (gate_passed) {
    nlohmann::json gate = {{"passed", *gate_passed}, {"checks", nlohmann::json::array()}};
    if (!*gate_passed)
      gate["checks"].push_back({{"task", "general"}, {"metric", "perplexity"}, {"base", 12.5}, {"tuned", 19.0},
                                {"failed", true}});
    write_text(run + "/gate.json", gate.dump());
  }
  return run;
}

}  // namespace whet::test
