// whet data: prepare (run a pipeline YAML), stats (profile a JSONL file) and
// validate (check a JSONL file against the training formats). The work lives in
// data/pipeline; this file only parses flags and prints.
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/resource_usage.h"
#include "data/pipeline/pipeline.h"
#include "data/pipeline/profile.h"
#include "data/pipeline/validate.h"

namespace whet::cli {

namespace {

struct PrepareOptions {
  std::string config_path, output;
  bool strict = false;
};

struct StatsOptions {
  std::string path, model, format = "auto", label_field = "label";
  bool json = false, html = false;
};

struct ValidateOptions {
  std::string path, format = "auto";
};

int run_prepare(const PrepareOptions& o) {
  const PipelineConfig config = load_pipeline_config(o.config_path);
  ProgressLine progress("data");
  PipelineOptions options;
  options.strict = o.strict;
  options.output_dir = o.output;
  options.on_message = [&](const std::string& line) { progress.message(line); };
  const PipelineResult result = run_pipeline(config, options);
  progress.finish();
  std::fprintf(stderr, "%zu leak(s), %zu record(s) dropped; report: %s/report.md; peak RSS %.0f MiB\n",
               result.leaks.size(), result.ledger.dropped().size(), result.output_dir.c_str(), peak_rss_mib());
  for (const OutputFile& file : result.outputs)
    std::printf("%s/%s\t%zu records\n", result.output_dir.c_str(), file.name.c_str(), file.records);
  return 0;
}

int run_stats(const StatsOptions& o) {
  std::optional<TokenCounter> counter;
  if (!o.model.empty()) counter.emplace(TokenCounter::from_model(o.model));
  ProfileOptions options;
  options.format = parse_data_format(o.format);
  options.label_field = o.label_field;
  options.counter = counter ? &*counter : nullptr;
  const DataProfile profile = profile_file(o.path, options);
  const std::string out = o.json ? profile_json(profile)
                          : o.html ? render_html(profile_document(profile))
                                   : render_markdown(profile_document(profile));
  std::fputs(out.c_str(), stdout);
  return 0;
}

int run_validate(const ValidateOptions& o) {
  const ValidationReport report = validate_file(o.path, parse_data_format(o.format));
  for (const std::string& error : report.errors) std::printf("%s\n", error.c_str());
  if (report.error_count > report.errors.size())
    std::printf("... and %zu more errors\n", report.error_count - report.errors.size());
  size_t examples = 0;
  std::string by_format;
  for (size_t f = 0; f < kDataFormatCount; ++f) {
    if (report.examples[f] == 0) continue;
    examples += report.examples[f];
    by_format += fmt::format("{}{} {}", by_format.empty() ? "" : ", ", report.examples[f], data_format_name(DataFormat(f)));
  }
  std::fprintf(stderr, "%s: %zu lines, %zu examples%s, %zu blank, %zu with errors\n", o.path.c_str(), report.lines,
               examples, by_format.empty() ? "" : (" (" + by_format + ")").c_str(), report.blank, report.error_count);
  return report.error_count == 0 ? 0 : 1;
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare, profile and validate training data");
  data->require_subcommand(1);

  auto* prepare = data->add_subcommand(
      "prepare", "Run a data pipeline (sources, normalize, filter, PII, dedup, split, leakage, augment; docs/data.md)");
  auto p = std::make_shared<PrepareOptions>();
  prepare->add_option("config", p->config_path, "Pipeline YAML")->required()->check(CLI::ExistingFile);
  prepare->add_option("--output", p->output, "Output folder (overrides output_dir)");
  prepare->add_flag("--strict", p->strict, "Fail on the first malformed line and on any leak");
  prepare->callback([p] { command_exit_code() = run_prepare(*p); });

  auto* stats = data->add_subcommand("stats", "Profile a JSONL file: counts, lengths, labels, duplicates, scripts, PII");
  auto s = std::make_shared<StatsOptions>();
  stats->add_option("file", s->path, "JSONL file")->required()->check(CLI::ExistingFile);
  stats->add_option("--model", s->model, "Count lengths in this model's tokens (GGUF file or HF directory)");
  stats->add_option("--format", s->format, "auto, text, completion, chat or alpaca")
      ->check(CLI::IsMember({"auto", "text", "completion", "chat", "alpaca"}));
  stats->add_option("--label-field", s->label_field, "JSON key holding the label (or completion/output)");
  stats->add_flag("--json", s->json, "Print JSON instead of Markdown");
  stats->add_flag("--html", s->html, "Print an HTML page with SVG charts instead of Markdown");
  stats->callback([s] { command_exit_code() = run_stats(*s); });

  auto* validate = data->add_subcommand("validate", "Check every line of a JSONL file as `whet train` reads it");
  auto v = std::make_shared<ValidateOptions>();
  validate->add_option("file", v->path, "JSONL file")->required()->check(CLI::ExistingFile);
  validate->add_option("--format", v->format, "auto (per line), text, completion, chat or alpaca")
      ->check(CLI::IsMember({"auto", "text", "completion", "chat", "alpaca"}));
  validate->callback([v] { command_exit_code() = run_validate(*v); });
}

}  // namespace whet::cli
