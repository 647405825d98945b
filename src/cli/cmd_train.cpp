// whet train: fine-tune a model from a YAML config and/or flags. Flags are
// shorthands for `--set key=value`, so both paths end in one TrainConfig.
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "train/trainer.h"

namespace whet::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void request_stop(int) { g_stop.store(true); }

struct TrainOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  bool resume = false;
  bool help_config = false;
  bool strict = false;
  // Shorthands for the common path, each one key of the config.
  std::string model, data, val, method, output;
  int epochs = 0;
  double lr = 0;
};

std::vector<std::string> all_overrides(const TrainOptions& o) {
  std::vector<std::string> out;
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) out.push_back(std::string(key) + "=" + value);
  };
  add("base_model", o.model);
  add("train_data", o.data);
  add("val_data", o.val);
  add("method", o.method);
  add("output_dir", o.output);
  if (o.epochs > 0) add("num_epochs", std::to_string(o.epochs));
  if (o.lr > 0) add("learning_rate", fmt::format("{}", o.lr));
  if (o.strict) add("strict", "true");
  out.insert(out.end(), o.overrides.begin(), o.overrides.end());  // --set wins over shorthands
  return out;
}

int run_train(const TrainOptions& o) {
  if (o.help_config) {
    std::fputs(train_config_help().c_str(), stdout);
    return 0;
  }
  const std::vector<std::string> overrides = all_overrides(o);
  const TrainConfig config =
      o.config_path.empty() ? train_config_from_overrides(overrides) : load_train_config(o.config_path, overrides);
  ProgressLine progress("step");
  TrainRunOptions options;
  options.resume = o.resume;
  options.stop = &g_stop;
  options.on_message = [&](const std::string& line) { progress.message(line); };
  options.on_report = [&](const StepReport& r) {
    if (r.is_eval) {
      std::string line = fmt::format("step {}:", r.step);
      if (!std::isnan(r.val_loss))
        line += fmt::format(" validation loss {:.4f} (perplexity {:.2f})", r.val_loss, std::exp(r.val_loss));
      for (const auto& [name, value] : r.eval_metrics) line += fmt::format(" {} {:.4f}", name, value);
      progress.message(line);
      return;
    }
    std::string line = fmt::format("epoch {} loss {:.4f}", r.epoch + 1, r.loss);
    if (!std::isnan(r.replay_loss)) line += fmt::format(" replay {:.4f}", r.replay_loss);
    if (!std::isnan(r.distill_loss)) line += fmt::format(" distill {:.4f}", r.distill_loss);
    progress.update(r.step, r.total_steps, line + fmt::format(" lr {:.2e} {:.0f} tok/s", r.lr, r.tokens_per_s));
  };
  std::signal(SIGINT, request_stop);
  const TrainRunResult result = run_training(config, options);
  std::signal(SIGINT, SIG_DFL);
  progress.finish();
  std::fprintf(stderr, "%lld steps; final training loss %.4f", static_cast<long long>(result.steps),
               result.final_train_loss);
  if (!std::isnan(result.best_val_loss))
    std::fprintf(stderr, "; validation loss %.4f -> best %.4f", result.first_val_loss, result.best_val_loss);
  std::fputc('\n', stderr);
  if (!result.output.empty()) std::printf("%s\n", result.output.c_str());
  return result.interrupted ? 130 : 0;
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
  command->add_option("--model", o->model, "Base model: GGUF file or HF directory (base_model)");
  command->add_option("--data", o->data, "Training JSONL (train_data)");
  command->add_option("--val", o->val, "Validation JSONL (val_data)");
  command->add_option("--method", o->method, "full, freeze or lora (method)")->check(CLI::IsMember({"full", "freeze", "lora"}));
  command->add_option("--epochs", o->epochs, "Epochs (num_epochs)");
  command->add_option("--lr", o->lr, "Learning rate (learning_rate)");
  command->add_option("--output", o->output, "Run folder (output_dir)");
  command->add_flag("--strict", o->strict, "Stop at the first malformed data line instead of skipping it (strict)");
  command->callback([o] { command_exit_code() = run_train(*o); });
}

}  // namespace whet::cli
