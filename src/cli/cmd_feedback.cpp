// whet feedback export: the feedback `whet serve` collected (POST /v1/feedback)
// as a preference or KTO training set (docs/serve.md, "Feedback"), or with
// --human-eval the ratings of a human evaluation session as preference pairs
// (docs/eval.md, "Human evaluation").
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "serve/feedback_export.h"
#include "serve/human_eval_export.h"

namespace whet::cli {

namespace {

struct FeedbackExportOptions {
  std::string data_dir = "whet-data";
  std::string format;
  std::string output;
  std::string human_eval;  // a session id: its ratings instead of the feedback
};

void print_tally(const char* heading, const serve::Tally& tally) {
  int64_t total = 0;
  for (const auto& [label, n] : tally) total += n;
  std::fprintf(stderr, "%s: %lld\n", heading, static_cast<long long>(total));
  for (const auto& [label, n] : tally) std::fprintf(stderr, "  %lld %s\n", static_cast<long long>(n), label.c_str());
}

void run_export(FeedbackExportOptions o) {
  if (!o.human_eval.empty()) {
    if (o.format.empty()) o.format = "preference";
    if (o.format != "preference")
      fail("--format", "--human-eval writes preference pairs only (a rating compares two answers), not {}", o.format);
  } else if (o.format.empty()) {
    fail("--format", "is required: preference or kto");
  }
  const serve::FeedbackDataset dataset =
      o.human_eval.empty() ? serve::export_feedback(o.data_dir, *serve::feedback_format_from_name(o.format), o.output)
                           : serve::export_human_eval(o.data_dir, o.human_eval, o.output);
  std::fprintf(stderr, "wrote %s (%s)\n", o.output.c_str(), o.format.c_str());
  print_tally("lines written", dataset.written);
  print_tally(o.human_eval.empty() ? "feedback skipped" : "ratings skipped", dataset.skipped);
}

}  // namespace

void add_feedback_command(CLI::App& app) {
  auto* feedback = app.add_subcommand("feedback", "Use the feedback whet serve collected on its completions");
  feedback->require_subcommand(1);
  auto* export_command = feedback->add_subcommand(
      "export", "Write the feedback as a preference (A/B choices, thumbs down with a preferred output) or KTO "
                "(thumbs up/down) JSONL training set, or a human evaluation session's ratings as preference pairs");
  export_command->footer(
      "\nExamples:\n"
      "  whet feedback export --data-dir whet-data --format preference --output pairs.jsonl\n"
      "  whet feedback export --data-dir whet-data --format kto --output kto.jsonl\n"
      "  whet feedback export --data-dir whet-data --human-eval heval-1a2b... --output rated.jsonl\n"
      "Counts of the lines written and of the feedback skipped, with the reasons, go to stderr (docs/serve.md).");
  auto o = std::make_shared<FeedbackExportOptions>();
  add_data_dir_option(*export_command, o->data_dir, "The server's data folder (whet serve --data-dir)");
  export_command->add_option("--format", o->format, "preference (OpenAI's preference JSONL) or kto; "
                                                    "required unless --human-eval, which writes preference")
      ->check(CLI::IsMember({"preference", "kto"}));
  export_command->add_option("--human-eval", o->human_eval,
                             "A human evaluation session's id: write its A/B ratings as preference pairs "
                             "(ties and both_bad are counted, not written)");
  export_command->add_option("--output", o->output, "The JSONL file to write (replaced atomically)")->required();
  export_command->callback([o] { run_export(*o); });
}

}  // namespace whet::cli
