#pragma once
// Run folders for the run tracker's tests: a tiny training run (the tiny random
// model, a few chat lines, a handful of LoRA steps), or a hand-made folder whose
// config.yaml and metrics.jsonl the test writes line by line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"
#include "train/trainer.h"

namespace whet::test {

inline std::string write_chat_lines(const std::string& path, int count) {
  std::ofstream out(path);
  for (int i = 0; i < count; ++i) {
    nlohmann::json line = {{"messages",
                            {{{"role", "user"}, {"content", "the sea " + std::to_string(i % 5)}},
                             {{"role", "assistant"}, {"content", "the tin " + std::to_string(i % 5) + " in the sea"}}}}};
    out << line.dump() << "\n";
  }
  return path;
}

// A LoRA run of the tiny model into `output_dir` (a few seconds): 8 steps, an evaluation every 4.
inline TrainConfig tiny_run_config(const std::string& scratch, const std::string& output_dir) {
  TrainConfig c;
  c.base_model = testdata_path("tiny/gqa_tied/hf");
  c.output_dir = output_dir;
  c.method = TrainMethod::Lora;
  c.train_data = {write_chat_lines(scratch + "/train.jsonl", 16)};
  c.val_data = {write_chat_lines(scratch + "/val.jsonl", 4)};
  c.sequence_len = 64;
  c.num_epochs = 1;
  c.max_steps = 8;
  c.micro_batch_size = 2;
  c.learning_rate = 1e-2;
  c.lora_r = 4;
  c.lora_alpha = 8;
  c.lora_target_modules = {"q", "v"};
  c.lora_dropout = 0;
  c.sample_packing = true;
  c.eval_steps = 4;
  c.save_steps = 4;
  c.forgetting_gate = false;
  c.replay_data = "";
  c.distill_weight = 0;
  c.early_stopping_patience = 0;
  c.threads = 1;
  return c;
}

// A run folder written by hand: config.yaml with `yaml`, an empty metrics.jsonl.
inline std::string hand_run(const std::string& dir, const std::string& yaml) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.yaml") << yaml;
  std::ofstream(dir + "/metrics.jsonl");
  return dir;
}

inline void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

// A training step's line, as the trainer writes them.
inline std::string step_line(int step, double loss) {
  return nlohmann::json({{"step", step}, {"epoch", 0}, {"loss", loss}, {"lr", 0.001}, {"elapsed_s", step * 0.5}}).dump() + "\n";
}

}  // namespace whet::test
