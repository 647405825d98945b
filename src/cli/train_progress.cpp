#include "cli/train_progress.h"

#include <fmt/format.h>

#include <cmath>
#include <string_view>

namespace whet::cli {

namespace {

// A step's further values on the one progress line: the penalties, and for rl the
// reward margin and accuracy, or grpo's mean reward (metrics.jsonl has every value).
bool on_progress_line(std::string_view name) {
  return name.ends_with("_penalty") || name == "rewards_margin" || name == "rewards_accuracy" || name == "reward";
}

}  // namespace

void show_training_report(ProgressLine& progress, const StepReport& r, bool examples) {
  if (r.is_eval) {
    std::string line = fmt::format("step {}:", r.step);
    if (!std::isnan(r.val_loss)) line += fmt::format(" validation loss {:.4f}", r.val_loss);
    if (!std::isnan(r.val_perplexity)) line += fmt::format(" (perplexity {:.2f})", r.val_perplexity);
    for (const auto& [name, value] : r.eval_metrics) line += fmt::format(" {} {:.4f}", name, value);
    progress.message(line);
    return;
  }
  // A classification head's examples are its unit; on a frozen base, tokens are read once and cached.
  const std::string speed =
      examples ? fmt::format("{:.1f} examples/s", r.examples_per_s) : fmt::format("{:.0f} tok/s", r.tokens_per_s);
  std::string line = fmt::format("epoch {} loss {:.4f}", r.epoch + 1, r.loss);
  if (!std::isnan(r.replay_loss)) line += fmt::format(" replay {:.4f}", r.replay_loss);
  if (!std::isnan(r.distill_loss)) line += fmt::format(" distill {:.4f}", r.distill_loss);
  for (const auto& [name, value] : r.values)
    if (on_progress_line(name)) line += fmt::format(" {} {:.4g}", name, value);
  progress.update(r.step, r.total_steps, line + fmt::format(" lr {:.2e} {}", r.lr, speed), r.eta_s);
}

}  // namespace whet::cli
