#pragma once
// A whet watch loop on the tiny test model, for the loop's tests and the
// server's: a labelled rule the base guesses at and one LoRA run learns,
// a held-out task of the same rule, and the loop's YAML in a scratch folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "loop/loop_state.h"
#include "loop/watch.h"
#include "test_support.h"

namespace whet::test {

// "the ocean N is" → tin, "the desert N is" → cup: the base guesses, one epoch of LoRA learns it.
inline void write_labelled(const std::string& path, int from, int to) {
  std::ofstream out(path);
  for (int i = from; i < to; ++i) {
    out << nlohmann::json{{"prompt", "the ocean " + std::to_string(i) + " is"}, {"label", "tin"}}.dump() << "\n";
    out << nlohmann::json{{"prompt", "the desert " + std::to_string(i) + " is"}, {"label", "cup"}}.dump() << "\n";
  }
}

struct TinyLoop {
  std::string dir, data_dir;
  loop::WatchConfig config;
  std::vector<std::string> said;

  // `extra_yaml`: more keys of the loop's file.
  explicit TinyLoop(const std::string& name, const std::vector<std::string>& train_set = {},
                    const std::string& extra_yaml = "") {
    dir = scratch_dir(name);
    data_dir = dir + "/data";
    std::filesystem::create_directories(dir + "/incoming");
    write_labelled(dir + "/heldout.jsonl", 100, 115);
    write_train_yaml(testdata_path("tiny/gqa_tied/hf"));
    std::string yaml = "name: oceans\nincoming: incoming\ntrain: train.yaml\ntask: heldout.jsonl\n"
                       "max_bias_rise: 10\ntrain_set: [max_perplexity_rise=100";
    for (const std::string& s : train_set) yaml += ", " + s;
    std::ofstream(dir + "/loop.yaml") << yaml << "]\n" << extra_yaml;
    config = loop::load_watch_config(dir + "/loop.yaml");
  }

  // The training config the loop reads, training from `base_model`.
  void write_train_yaml(const std::string& base_model) const {
    std::ofstream(dir + "/train.yaml") << "base_model: " << base_model
                                       << "\noutput_dir: set-by-the-loop\nmethod: lora\nnum_epochs: 2\n"
                                          "learning_rate: 0.01\nreplay_data: none\nsave_steps: 8\n";
  }

  loop::WatchResult run(const std::atomic<bool>* stop = nullptr, std::function<void(const StepReport&)> on_report = {},
                  loop::FeedbackRecords feedback = {}) {
    loop::WatchOptions o;
    o.data_dir = data_dir;
    o.once = true;
    o.stop = stop;
    o.feedback = std::move(feedback);
    o.say = [this](const std::string& line) { said.push_back(line); };
    o.on_report = std::move(on_report);
    return loop::watch(config, o);
  }

  bool said_something_with(const std::string& part) const {
    for (const std::string& line : said)
      if (line.find(part) != std::string::npos) return true;
    return false;
  }
  std::string transcript() const {
    std::string out;
    for (const std::string& line : said) out += line + "\n";
    return out;
  }
  nlohmann::json decision(int64_t cycle) const { return read_json_object(loop::LoopFolder(data_dir, "oceans").decision_path(cycle)); }
};

}  // namespace whet::test
