// whet data: prepare (run a pipeline YAML), stats (profile one source) and
// validate (check one source against the training formats). The work lives in
// src/prepare; this file only parses flags and prints.
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/resource_usage.h"
#include "prepare/pipeline.h"
#include "prepare/profile.h"
#include "prepare/source_spec.h"
#include "prepare/validate.h"
#include "eval/pipeline_model.h"

namespace whet::cli {

namespace {

struct PrepareOptions {
  std::string config_path, output, weights = "native";
  bool strict = false;
};

struct StatsOptions {
  SourceFlags source;
  std::string model, label_field = "label";
  bool json = false, html = false;
};

struct ValidateOptions {
  SourceFlags source;
};

int run_prepare(const PrepareOptions& o) {
  const PipelineConfig config = load_pipeline_config(o.config_path);
  ProgressLine progress("data");
  // A bar of its own for each long stage, so its rate and ETA are that stage's.
  std::optional<ProgressLine> stage_bar;
  std::string bar_stage;
  PipelineOptions options;
  options.strict = o.strict;
  options.output_dir = o.output;
  options.open_model = pipeline_model_opener(*weight_format_from_name(o.weights));
  options.on_message = [&](const std::string& line) {
    if (stage_bar) stage_bar->finish(), stage_bar.reset();
    progress.message(line);
  };
  options.on_progress = [&](const std::string& stage, size_t done, size_t total) {
    if (!stage_bar || bar_stage != stage) {
      if (stage_bar) stage_bar->finish();
      stage_bar.emplace("data " + stage);
      bar_stage = stage;
    }
    stage_bar->update(int64_t(done), int64_t(total), "");
  };
  const PipelineResult result = run_pipeline(config, options);
  progress.finish();
  std::fprintf(stderr, "%zu leak(s), %zu record(s) dropped; report: %s/report.md; peak RSS %.0f MiB\n",
               result.leaks.size(), result.ledger.dropped().size(), result.output_dir.c_str(), peak_rss_mib());
  for (const OutputFile& file : result.outputs)
    std::printf("%s/%s\t%zu records\n", result.output_dir.c_str(), file.name.c_str(), file.records);
  return 0;
}

int run_stats(const StatsOptions& o) {
  const PipelineConfig config = single_source_config(o.source, o.label_field);
  std::optional<TokenCounter> counter;
  if (!o.model.empty()) counter.emplace(TokenCounter::from_model(o.model));
  const DataProfile profile = profile_source(config, counter ? &*counter : nullptr);
  const std::string out = o.json ? profile_json(profile)
                          : o.html ? render_html(profile_document(profile))
                                   : render_markdown(profile_document(profile));
  std::fputs(out.c_str(), stdout);
  return 0;
}

int run_validate(const ValidateOptions& o) {
  // Labels are for stats; validate reads a label column only as parse_example does ({"prompt", "label"}).
  const PipelineConfig config = single_source_config(o.source, "");
  const ValidationReport report = validate_source(config);
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
  if (!by_format.empty()) by_format = " (" + by_format + ")";
  const SourceType type = config.sources.front().type;
  if (type == SourceType::Jsonl) {
    std::fprintf(stderr, "%s: %zu lines, %zu examples%s, %zu blank, %zu with errors\n", o.source.path.c_str(),
                 report.lines, examples, by_format.c_str(), report.blank, report.error_count);
  } else {
    std::fprintf(stderr, "%s (%s): %zu records%s, %zu with errors\n", o.source.path.c_str(),
                 std::string(source_type_name(type)).c_str(), examples, by_format.c_str(), report.error_count);
  }
  return report.error_count == 0 ? 0 : 1;
}

// The file and how to read it, the same for stats and validate.
void add_source_options(CLI::App& command, SourceFlags& source) {
  command.add_option("file", source.path, "JSONL, CSV or TSV file; text or Markdown file or folder")->required();
  command.add_option("--type", source.type,
                     "jsonl, csv, tsv, text or markdown (default: from the extension; a folder: text)");
  // One value per --columns, so the file after it is not taken for a mapping.
  command
      .add_option("--columns", source.columns,
                  "CSV/TSV: FIELD=COLUMN[,FIELD=COLUMN...], training fields (prompt, completion, text, user, ...) "
                  "or the label field to header names (repeatable)")
      ->allow_extra_args(false);
  command.add_option("--encoding", source.encoding, "utf-8, latin-1 or utf-8-or-latin-1 (Latin-1 where not UTF-8)")
      ->capture_default_str();
  command.add_option("--format", source.format,
                     "auto (per line), text, completion, chat, alpaca, preference, kto or prompt (validate only; prompt: "
                     "GRPO's prompts, never detected)")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kDataFormatNames), std::end(kDataFormatNames))));
  command.add_flag("--paragraphs", source.paragraphs, "Text/Markdown: a record per paragraph instead of per file");
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare, profile and validate training data");
  data->require_subcommand(1);

  auto* prepare = data->add_subcommand(
      "prepare", "Run a data pipeline (sources, normalize, synthesis, pseudo-labels, filter, PII, dedup, split, leakage, "
      "augmentation; docs/data.md)");
  auto p = std::make_shared<PrepareOptions>();
  prepare->add_option("config", p->config_path, "Pipeline YAML")->required()->check(CLI::ExistingFile);
  prepare->add_option("--output", p->output, "Output folder (overrides output_dir)");
  prepare->add_flag("--strict", p->strict, "Fail on the first malformed line and on any leak");
  add_weights_option(*prepare, p->weights, "the models of synthesize, pseudo_label and augment are");
  prepare->callback([p] { command_exit_code() = run_prepare(*p); });

  auto* stats = data->add_subcommand(
      "stats", "Profile a JSONL, CSV/TSV, text or Markdown source: counts, lengths, labels, duplicates, scripts, PII");
  auto s = std::make_shared<StatsOptions>();
  add_source_options(*stats, s->source);
  stats->add_option("--model", s->model, "Count lengths in this model's tokens (GGUF file or HF directory)");
  stats->add_option("--label-field", s->label_field,
                    "JSON key or --columns field holding the label (or completion/output)")
      ->capture_default_str();
  stats->add_flag("--json", s->json, "Print JSON instead of Markdown");
  stats->add_flag("--html", s->html, "Print an HTML page with SVG charts instead of Markdown");
  stats->callback([s] { command_exit_code() = run_stats(*s); });

  auto* validate = data->add_subcommand(
      "validate", "Check every line or row of a JSONL, CSV/TSV, text or Markdown source as training reads it");
  auto v = std::make_shared<ValidateOptions>();
  add_source_options(*validate, v->source);
  validate->callback([v] { command_exit_code() = run_validate(*v); });
}

}  // namespace whet::cli
