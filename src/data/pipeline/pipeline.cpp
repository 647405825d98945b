#include "data/pipeline/pipeline.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/pipeline/augment.h"
#include "data/pipeline/dedup.h"
#include "data/pipeline/filters.h"
#include "data/pipeline/manifest.h"
#include "data/pipeline/mix.h"
#include "data/pipeline/model_augment.h"
#include "data/pipeline/normalize.h"
#include "data/pipeline/pii.h"
#include "data/pipeline/pseudo_label.h"
#include "data/pipeline/report.h"
#include "data/pipeline/sources.h"
#include "data/pipeline/synthesize.h"

namespace whet {
namespace {

using json = nlohmann::ordered_json;

// Writes one split and remembers where each record went, for the trace.
OutputFile write_split(const std::string& dir, std::string name, const std::vector<Record>& records,
                       const std::string& label_field) {
  AtomicFile out(dir + "/" + name);
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const Record& r : records) {
    const std::string line = record_to_jsonl(r, label_field) + "\n";
    out.write(line);
    XXH3_64bits_update(state, line.data(), line.size());
  }
  OutputFile file{std::move(name), records.size(), out.offset(), XXH3_64bits_digest(state)};
  XXH3_freeState(state);
  out.commit();
  return file;
}

// The chunks synthesis made, so that each pair's chunk_id can be looked up.
OutputFile write_chunks(const std::string& dir, const std::vector<Chunk>& chunks) {
  std::string text;
  for (const Chunk& c : chunks)
    text += json{{"id", c.id}, {"line", c.first_line}, {"text", c.text}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  write_file_atomic(dir + "/chunks.jsonl", text);
  return OutputFile{"chunks.jsonl", chunks.size(), text.size(), XXH3_64bits(text.data(), text.size())};
}

// One line per record: where it went (file and line) or at which stage and why
// it was dropped, with every mark a stage left on it.
std::string trace_jsonl(const PipelineResult& result, const std::vector<std::string>& split_files) {
  std::string out;
  for (size_t s = 0; s < result.splits.parts.size(); ++s) {
    const std::vector<Record>& records = result.splits.parts[s];
    for (size_t i = 0; i < records.size(); ++i) {
      json line{{"record", records[i].example.where()},
                {"fate", kSplitNames[s]},
                {"output", fmt::format("{}:{}", split_files[s], i + 1)}};
      if (!records[i].marks.empty()) line["marks"] = records[i].marks;
      out += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
  }
  for (const DroppedRecord& d : result.ledger.dropped()) {
    const json line{{"record", d.where}, {"fate", "dropped"}, {"stage", d.stage}, {"reason", d.reason}};
    out += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  return out;
}

}  // namespace

PipelineResult run_pipeline(const PipelineConfig& config, const PipelineOptions& options) {
  PipelineResult result;
  result.output_dir = options.output_dir.empty() ? resolve_path(config, config.output_dir) : options.output_dir;
  if (result.output_dir.empty()) fail(config.path, "output_dir: not set (or give --output)");
  auto said = [&](const std::string& line) {
    if (options.on_message) options.on_message(line);
  };
  // Wall time goes to the messages only: the files must not depend on it.
  auto stage_start = std::chrono::steady_clock::now();
  auto stage_done = [&] {
    const auto now = std::chrono::steady_clock::now();
    const StageReport& s = result.ledger.stages().back();
    said(fmt::format("{}: {} -> {} records in {:.2f} s", s.stage, s.in, s.out,
                     std::chrono::duration<double>(now - stage_start).count()));
    stage_start = now;
  };

  // Everything that can fail on the config alone fails before any data is read.
  std::optional<TokenCounter> loaded;
  if (!options.counter && !config.model.empty()) loaded.emplace(TokenCounter::from_model(resolve_path(config, config.model)));
  const TokenCounter* counter = options.counter ? options.counter : loaded ? &*loaded : nullptr;
  result.token_lengths = counter != nullptr;
  const PiiScanner scanner(config.pii);
  for (const std::string& eval : config.leakage.eval_files)
    if (!std::filesystem::exists(resolve_path(config, eval))) fail(config.path, "leakage.eval_files: {} not found", eval);

  // Models load when their stage comes (memory for one stage at a time), but a
  // path that does not exist fails now, not after hours of the stages before.
  auto check_model = [&](const char* stage, const ModelRef& ref) {
    for (const auto& [key, path] : {std::pair{"model", ref.path}, {"adapter", ref.adapter}, {"classifier", ref.classifier}})
      if (!path.empty() && !std::filesystem::exists(resolve_path(config, path)))
        fail(config.path, "{}.{}: {} not found", stage, key, resolve_path(config, path));
  };
  const bool model_augmenting = config.augment.paraphrases > 0 || config.augment.questions > 0;
  if (has_source_role(config, SourceRole::Documents)) check_model("synthesize", config.synthesize.model);
  if (has_source_role(config, SourceRole::Unlabelled)) check_model("pseudo_label", config.pseudo_label.model);
  if (model_augmenting) check_model("augment", config.augment.model);
  auto open_model = [&](const char* stage, ModelRef ref) {
    if (!options.open_model) fail(config.path, "{}: model-based stages need models; run them with `whet data prepare`", stage);
    for (std::string* path : {&ref.path, &ref.adapter, &ref.classifier}) *path = resolve_path(config, *path);
    return options.open_model(ref);
  };
  auto progress_of = [&](const std::string& stage) -> StageProgress {
    return [&options, stage](size_t done, size_t total) {
      if (options.on_progress) options.on_progress(stage, done, total);
    };
  };

  Ledger& ledger = result.ledger;
  std::vector<Record> records = read_sources(config, options.strict, ledger, progress_of("read"));
  stage_done();
  normalize_stage(records, config.normalize, config.label_field, ledger);
  stage_done();
  if (has_source_role(config, SourceRole::Documents)) {
    result.chunks = synthesize_stage(records, config, open_model("synthesize", config.synthesize.model), ledger,
                                     progress_of("synthesize"));
    stage_done();
  }
  if (has_source_role(config, SourceRole::Unlabelled)) {
    pseudo_label_stage(records, config, open_model("pseudo_label", config.pseudo_label.model), ledger,
                       progress_of("pseudo_label"));
    stage_done();
  }
  filter_stage(records, config.filter, config.label_field, counter, ledger);
  stage_done();
  pii_stage(records, config.pii, scanner, ledger);
  stage_done();
  dedup_stage(records, config.dedup, config.seed, ledger, progress_of("dedup"));
  stage_done();
  result.splits = split_stage(std::move(records), config.split, config.label_field, config.seed, ledger);
  stage_done();
  result.leaks = leakage_stage(result.splits, config.leakage, config, ledger);
  stage_done();
  if (options.strict && !result.leaks.empty()) {
    const Leak& first = result.leaks.front();
    fail(first.where, "--strict: {} leaking record(s); this one shares {:.0f}% of its n-grams with {} ({})",
         result.leaks.size(), first.overlap * 100, first.against, first.match);
  }
  std::vector<Record>& train = result.splits.parts[size_t(Split::Train)];
  mix_stage(train, config.sources, config.seed, ledger);
  stage_done();
  augment_stage(train, config.augment, config.seed, ledger);
  stage_done();
  if (model_augmenting) {
    model_augment_stage(train, config.augment, config.seed, open_model("augment", config.augment.model), ledger,
                        progress_of("model_augment"));
    stage_done();
  }
  if (counter) {
    for (Record& r : train)
      if (r.augmented) r.tokens = counter->count(r);  // copies changed their inputs
  }

  std::filesystem::create_directories(result.output_dir);
  std::vector<std::string> split_files;
  for (size_t s = 0; s < result.splits.parts.size(); ++s) {
    const bool wanted = s == 0 || (s == 1 ? config.split.validation > 0 : config.split.test > 0);
    split_files.push_back(fmt::format("{}.jsonl", kSplitNames[s]));
    if (wanted)
      result.outputs.push_back(write_split(result.output_dir, split_files[s], result.splits.parts[s], config.label_field));
  }
  if (!result.chunks.empty()) result.outputs.push_back(write_chunks(result.output_dir, result.chunks));
  write_file_atomic(result.output_dir + "/trace.jsonl", trace_jsonl(result, split_files));
  write_file_atomic(result.output_dir + "/manifest.json", manifest_json(config, result));
  const Document report = pipeline_report(config, result);
  write_file_atomic(result.output_dir + "/report.md", render_markdown(report));
  write_file_atomic(result.output_dir + "/report.html", render_html(report));
  return result;
}

}  // namespace whet
