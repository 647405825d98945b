// whet train: fine-tune a model from a YAML config and/or flags. Flags are
// shorthands for `--set key=value`, so both paths end in one TrainConfig; keys
// given nowhere are auto, decided from the data (train/auto_settings.h).
#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/stop_signal.h"
#include "cli/train_progress.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "track/model_uri.h"
#include "train/continual.h"
#include "train/trainer.h"

namespace whet::cli {

namespace {


// The flags of the common path, each a shorthand for one config key: its value
// is read as `--set key=value` is (YAML, so `--epochs auto` works too), and the
// config reader checks it.
struct Shorthand {
  const char* flag;
  const char* key;
  const char* help;
};
constexpr Shorthand kShorthands[] = {
    {"--model", "base_model", "Base model: GGUF file or HF directory"},
    {"--data", "train_data", "Training JSONL"},
    {"--val", "val_data", "Validation JSONL"},
    {"--val-set-size", "val_set_size", "Fraction of the training data held back for validation, e.g. 0.1"},
    {"--output", "output_dir", "Run folder"},
    {"--method", "method", "full, freeze or lora; dpo, simpo, orpo, kto, reward or grpo: that rl method with lora"},
    {"--grader", "grader", "grpo: the grader file (JSON or YAML) that scores sampled completions"},
    {"--weights", "weights", "How the frozen base is held: native, f32 or bf16, or auto (bf16 on CPUs with bf16 units, f32 elsewhere)"},
    {"--threads", "threads", "Worker threads (0: all cores)"},
    {"--seed", "seed", "Seed for shuffling, dropout and initialisation"},
    {"--seq-len", "sequence_len", "Longest training sequence, in tokens"},
    {"--packing", "sample_packing", "Pack short examples into shared sequences: true, false or auto"},
    {"--lora-r", "lora_r", "LoRA rank, or auto"},
    {"--lora-alpha", "lora_alpha", "LoRA scale numerator, or auto (2 * rank)"},
    {"--lora-targets", "lora_target_modules", "Matrices with adapters: all-linear, [q,v], ... or auto"},
    {"--epochs", "num_epochs", "Epochs, or auto"},
    {"--lr", "learning_rate", "Learning rate, or auto"},
    {"--batch-size", "micro_batch_size", "Sequences per step, or auto"},
    {"--max-steps", "max_steps", "Stop after this many optimiser steps"},
    {"--eval-steps", "eval_steps", "Evaluate every N steps (0: each epoch), or auto"},
    {"--patience", "early_stopping_patience", "Early stopping after N evaluations without improvement (0: off), or auto"},
    {"--replay", "replay_data", "General data mixed in against forgetting: general, a JSONL file, none, or auto"},
    {"--replay-ratio", "replay_ratio", "Replay sequences per task sequence, e.g. 0.25"},
    {"--distill", "distill_weight", "Weight of distillation from the base (lora; 0: off), or auto"},
    {"--ewc", "ewc_lambda", "EWC strength: lambda/2 * sum F*(w - w0)^2 (0: off)"},
    {"--l2sp", "l2sp_lambda", "L2-SP strength for full and freeze (0: off)"},
    {"--forgetting-gate", "forgetting_gate", "Score general ability after training and exit 3 when lost: true or false"},
};

struct TrainOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  bool resume = false;
  bool help_config = false;
  bool strict = false;
  std::array<std::string, std::size(kShorthands)> shorthands;  // as given, "" when not
};

std::vector<std::string> all_overrides(const TrainOptions& o) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::size(kShorthands); ++i)
    if (!o.shorthands[i].empty()) out.push_back(std::string(kShorthands[i].key) + "=" + o.shorthands[i]);
  if (o.strict) out.push_back("strict=true");
  out.insert(out.end(), o.overrides.begin(), o.overrides.end());  // --set wins over shorthands
  return out;
}

// A task sequence: every stage's run, then the accuracy matrix. The result
// that decides the exit is the last stage's, with a gate failed at any stage.
TrainRunResult run_sequence(const TrainConfig& config, const TrainRunOptions& options, ProgressLine& progress) {
  const ContinualResult sequence = run_task_sequence(config, options);
  TrainRunResult last = sequence.stages.back();
  for (const TrainRunResult& stage : sequence.stages)
    if (stage.gate && !stage.gate->passed) last.gate = stage.gate;
  // Under mpirun the ranks but 0 score nothing, and print nothing.
  if (!last.interrupted && !sequence.scores.empty()) progress.message(continual_table(sequence));
  return last;
}

// The config as read, with models:/ names (base_model, lora_model_dir) resolved in the registry.
TrainConfig read_config(const TrainOptions& o, const std::string& registry_dir) {
  const std::vector<std::string> overrides = all_overrides(o);
  TrainConfig config =
      o.config_path.empty() ? train_config_from_overrides(overrides) : load_train_config(o.config_path, overrides);
  if (track::is_model_uri(config.base_model) || track::is_model_uri(config.lora_model_dir)) {
    track::RegistryStore registry(registry_dir);
    track::resolve_training_uris(config, registry);
  }
  return config;
}

// How a run ends for the shell, the same on every rank of a data-parallel run
// (the others hear rank 0's gate verdict): 130 when interrupted, kExitForgetting
// when the forgetting gate failed.
int exit_code(const TrainRunResult& result) {
  if (result.interrupted) return 130;
  return result.gate && !result.gate->passed ? kExitForgetting : 0;
}

// One process's part of the run: under mpirun, one rank of a data-parallel run,
// where rank 0 alone prints progress and the result (docs/distributed.md).
int train_as_rank(const TrainOptions& o, const std::string& registry_dir, dist::Communicator& world) {
  const TrainConfig config = read_config(o, registry_dir);
  const bool speaks = world.rank() == 0;
  ProgressLine progress("step");
  TrainRunOptions options;
  options.resume = o.resume;
  options.world = &world;
  if (speaks) {
    options.on_message = [&](const std::string& line) { progress.message(line); };
    options.on_report = [&](const StepReport& r) { show_training_report(progress, r, config.task_type == "seq_cls"); };
  }
  // mpirun ends the job on Ctrl-C, but forwards SIGUSR1 to every rank: `kill -USR1 <mpirun>`
  // stops a data-parallel run at the same step on all ranks, with a checkpoint.
  const StopOnSignal ctrl_c = world.size() > 1 ? StopOnSignal{SIGINT, SIGUSR1} : StopOnSignal{SIGINT};
  options.stop = &ctrl_c.requested();
  const TrainRunResult result = config.task_sequence.empty() ? run_training(config, options)
                                                             : run_sequence(config, options, progress);
  if (!speaks) return exit_code(result);
  progress.finish();
  std::fprintf(stderr, "%lld steps; final training loss %.4f", static_cast<long long>(result.steps),
               result.final_train_loss);
  if (!std::isnan(result.best_val_loss))
    std::fprintf(stderr, "; validation loss %.4f -> best %.4f", result.first_val_loss, result.best_val_loss);
  std::fputc('\n', stderr);
  if (!result.output.empty()) std::printf("%s\n", result.output.c_str());
  return exit_code(result);
}

int run_train(const TrainOptions& o, const std::string& registry_dir) {
  if (o.help_config) {
    std::fputs(train_config_help().c_str(), stdout);
    return 0;
  }
  // MPI starts only under mpirun: plain `whet train` is one process, with no MPI at all.
  const std::unique_ptr<dist::Communicator> world = dist::join_world();
  if (world->size() == 1) return train_as_rank(o, registry_dir, *world);
  try {
    return train_as_rank(o, registry_dir, *world);
  } catch (const std::exception& e) {
    // The other ranks may be waiting in a collective for this one: end them all.
    std::fprintf(stderr, "whet: error (rank %d of %d): %s\n", world->rank(), world->size(), e.what());
    world->abort(1);
    __builtin_unreachable();  // abort is [[noreturn]], which GCC does not carry through a virtual call
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* command = app.add_subcommand("train", "Fine-tune a model (full, layer freezing or LoRA) on JSONL data");
  auto o = std::make_shared<TrainOptions>();
  command->add_option("config", o->config_path, "YAML config (Axolotl-style keys; see --help-config)")
      ->check(CLI::ExistingFile);
  command->add_option("--set", o->overrides, "Override a config key: --set key=value (repeatable; value is YAML)");
  command->add_flag("--resume", o->resume, "Continue from the newest checkpoint in output_dir");
  command->add_flag("--help-config", o->help_config, "List every config key with its type, default and meaning");
  for (std::size_t i = 0; i < std::size(kShorthands); ++i) {
    const Shorthand& s = kShorthands[i];
    command->add_option(s.flag, o->shorthands[i], fmt::format("{} ({})", s.help, s.key));
  }
  command->add_flag("--strict", o->strict, "Stop at the first malformed data line instead of skipping it (strict)");
  command->callback([o, command] { command_exit_code() = run_train(*o, registry_data_dir(*command)); });
}

}  // namespace whet::cli
