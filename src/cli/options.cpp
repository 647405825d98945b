#include "cli/options.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "models/lora_files.h"

namespace whet::cli {

void ModelOptions::add_to(CLI::App& command) {
  command.add_option("model,--model", path, "GGUF file or Hugging Face model directory (default: SmolLM2-135M-Instruct)");
  add_loading_options(command);
  command.add_option("--adapter", adapter,
                     "LoRA adapter: a PEFT directory (adapter_config.json, adapter_model.safetensors) or a GGUF "
                     "LoRA file (llama.cpp's --lora format), applied unmerged on top of the model");
  add_adapter_scale(command, adapter_scale);
}

namespace {

constexpr const char* kAdapterScaleHelp =
    "Multiply the adapter's update by this (its scale alpha/r times it): 0 gives the base model exactly, 1 the "
    "adapter as trained, values between weaken it";

}  // namespace

CLI::Option* add_adapter_scale(CLI::App& command, float& scale) {
  return command.add_option("--adapter-scale", scale, kAdapterScaleHelp)
      ->check(CLI::Range(-100.0f, 100.0f))
      ->capture_default_str();
}

CLI::Option* add_data_dir_option(CLI::App& command, std::string& data_dir, const std::string& help) {
  return command.add_option("--data-dir", data_dir, help)->capture_default_str();
}

CLI::Option* add_adapter_scale(CLI::App& command, std::vector<float>& scales) {
  return command
      .add_option("--adapter-scale", scales,
                  std::string(kAdapterScaleHelp) + "; repeatable: each adapter is evaluated at each value, as rows "
                                                   "named NAME α=VALUE (default: 1, rows named NAME)")
      ->check(CLI::Range(-100.0f, 100.0f));
}

void ModelOptions::add_loading_options(CLI::App& command) {
  command.add_option("--weights", weights,
                     "How weights are held: native (as in the file, decoded on use), f32 or bf16 (converted at load)")
      ->check(CLI::IsMember({"native", "f32", "bf16"}))
      ->capture_default_str();
  command.add_option("--threads", threads, "Worker threads (0: all cores)")->capture_default_str();
}

LoadedModel ModelOptions::load() const {
  LoadedModel loaded = load(path);
  if (!adapter.empty()) loaded.adapter = load_adapter(adapter, loaded, adapter_scale);
  return loaded;
}

LoadedModel ModelOptions::load(const std::string& model_path) const {
  if (threads > 0) omp_set_num_threads(threads);
  return load_model(model_path.empty() ? default_model_path() : model_path, *weight_format_from_name(weights));
}

std::shared_ptr<const LlamaLora> load_adapter(const std::string& path, const LoadedModel& model, float strength) {
  LlamaLora lora = load_lora_adapter(path, model.model.config);
  lora.config.strength = strength;
  auto adapter = std::make_shared<const LlamaLora>(std::move(lora));
  std::fprintf(stderr, "adapter %s: %s\n", path.c_str(), adapter_summary(adapter->config).c_str());
  return adapter;
}

std::string adapter_summary(const LoraConfig& config) {
  std::vector<std::string_view> targets;
  for (Projection p : config.targets) targets.push_back(kProjectionNames[int(p)]);
  const std::string strength = config.strength == 1.0f ? "" : fmt::format(" (--adapter-scale {})", config.strength);
  return fmt::format("rank {}, alpha {}, scale {}{}, on {}", config.rank, config.alpha, config.scale(), strength,
                     fmt::join(targets, ", "));
}

void SamplingOptions::add_to(CLI::App& command) {
  SamplingParams& s = generation.sampling;
  command.add_option("--temperature", s.temperature, "Sampling temperature; 0 is greedy and deterministic")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  command.add_option("--top-k", s.top_k, "Keep the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
  command.add_option("--top-p", s.top_p, "Keep the smallest set with this much probability (1: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  command.add_option("--min-p", s.min_p, "Drop tokens below min-p times the top probability (0: off)")
      ->check(CLI::Range(0.0f, 1.0f));
  command.add_option("--repetition-penalty", s.repetition_penalty, "Penalty for tokens already seen (1: off)")
      ->check(CLI::Range(0.01f, 100.0f));
  command.add_option("--seed", s.seed, "Random seed for sampling")->capture_default_str();
  command.add_option("--max-tokens", generation.max_tokens, "Most tokens to generate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--stop", generation.stop, "Stop before this text (repeatable)");
}

}  // namespace whet::cli
