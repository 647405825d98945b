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
  int threads = 0;      // 0: all cores
  std::string adapter;  // PEFT adapter directory or GGUF LoRA file; empty: none
  float adapter_scale = 1.0f;  // --adapter-scale

  // Adds MODEL (positional, or --model as every command takes it) plus --weights, --threads, --adapter and --adapter-scale.
  void add_to(CLI::App& command);
  // Adds --weights and --threads only, for commands that name models their own way.
  void add_loading_options(CLI::App& command);
  // Sets the thread count, then loads the model and any adapter (noted on stderr).
  LoadedModel load() const;
  // Sets the thread count and loads `model_path` (empty: the default model) without an adapter.
  LoadedModel load(const std::string& model_path) const;
};

// A LoRA adapter for `model` from a PEFT directory or a GGUF LoRA file, used at
// `strength` (--adapter-scale), its summary noted on stderr.
std::shared_ptr<const LlamaLora> load_adapter(const std::string& path, const LoadedModel& model,
                                              float strength = 1.0f);

// --adapter-scale α, declared once for generate, eval, serve and merge: the
// adapter's update times α (0: the base model exactly; 1: the adapter as trained).
CLI::Option* add_adapter_scale(CLI::App& command, float& scale);
// The same, repeatable (whet eval: every adapter is evaluated at each α).
CLI::Option* add_adapter_scale(CLI::App& command, std::vector<float>& scales);

// --weights, declared once for every command that loads models: how `what` holds
// them (native, f32, bf16, or auto: the fastest on this CPU, models/model_loader.h).
CLI::Option* add_weights_option(CLI::App& command, std::string& weights, const std::string& what);

// --data-dir, declared once for every command that works on the server's data
// folder (serve, feedback, runs): `help` says what the command does with it.
CLI::Option* add_data_dir_option(CLI::App& command, std::string& data_dir, const std::string& help);

// --kv-cache-dtype, declared once for every command that decodes (generate,
// chat, serve, bench generate and batch): how a sequence's keys and values are
// held, f16 (the default: half the memory and half of what a decode step reads)
// or f32.
CLI::Option* add_kv_cache_option(CLI::App& command, DType& dtype);

struct SamplingOptions {
  GenerationOptions generation;
  DType kv_cache_dtype = DType::F16;
  // The sampling flags, --max-tokens, --stop and --kv-cache-dtype.
  void add_to(CLI::App& command);
};

// "rank 4, alpha 8, scale 2, on q, v": what a user needs to recognise an adapter.
std::string adapter_summary(const LoraConfig& config);

// --data-dir: the server's data folder (whet serve's), where its stores and the model registry live.
inline constexpr const char* kDefaultDataDir = "whet-data";
CLI::Option* add_data_dir(CLI::App& command, std::string& data_dir);

// Where a command finds the model registry: its --data-dir, else $WHET_DATA_DIR, else whet-data.
std::string registry_data_dir(const CLI::App& command);

// Lets every command's --model and --adapter (and a positional model) take a
// registered version, models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME
// (docs/registry.md): once a command's options are read, before it runs, each
// such value is replaced by the version's folders, from the registry in the
// command's --data-dir, else $WHET_DATA_DIR, else whet-data. Called once, after
// every command is added.
void resolve_model_uris_in_commands(CLI::App& app);


}  // namespace whet::cli
