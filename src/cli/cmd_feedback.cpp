// whet feedback export: the feedback `whet serve` collected (POST /v1/feedback)
// as a preference or KTO training set (docs/serve.md, "Feedback").
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "serve/feedback_export.h"

namespace whet::cli {

namespace {

struct FeedbackExportOptions {
  std::string data_dir = "whet-data";
  std::string format;
  std::string output;
};

void print_tally(const char* heading, const serve::Tally& tally) {
  int64_t total = 0;
  for (const auto& [label, n] : tally) total += n;
  std::fprintf(stderr, "%s: %lld\n", heading, static_cast<long long>(total));
  for (const auto& [label, n] : tally) std::fprintf(stderr, "  %lld %s\n", static_cast<long long>(n), label.c_str());
}

void run_export(const FeedbackExportOptions& o) {
  const serve::FeedbackDataset dataset =
      serve::export_feedback(o.data_dir, *serve::feedback_format_from_name(o.format), o.output);
  std::fprintf(stderr, "wrote %s (%s)\n", o.output.c_str(), o.format.c_str());
  print_tally("lines written", dataset.written);
  print_tally("feedback skipped", dataset.skipped);
}

}  // namespace

void add_feedback_command(CLI::App& app) {
  auto* feedback = app.add_subcommand("feedback", "Use the feedback whet serve collected on its completions");
  feedback->require_subcommand(1);
  auto* export_command = feedback->add_subcommand(
      "export", "Write the feedback as a preference (A/B choices, thumbs down with a preferred output) or KTO "
                "(thumbs up/down) JSONL training set");
  export_command->footer(
      "\nExamples:\n"
      "  whet feedback export --data-dir whet-data --format preference --output pairs.jsonl\n"
      "  whet feedback export --data-dir whet-data --format kto --output kto.jsonl\n"
      "Counts of the lines written and of the feedback skipped, with the reasons, go to stderr (docs/serve.md).");
  auto o = std::make_shared<FeedbackExportOptions>();
  add_data_dir_option(*export_command, o->data_dir, "The server's data folder (whet serve --data-dir)");
  export_command->add_option("--format", o->format, "preference (OpenAI's preference JSONL) or kto")
      ->check(CLI::IsMember({"preference", "kto"}))
      ->required();
  export_command->add_option("--output", o->output, "The JSONL file to write (replaced atomically)")->required();
  export_command->callback([o] { run_export(*o); });
}

}  // namespace whet::cli
