#include "prepare/pipeline.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/parallel_for.h"
#include "prepare/augment.h"
#include "prepare/dedup.h"
#include "prepare/filters.h"
#include "prepare/manifest.h"
#include "prepare/mix.h"
#include "prepare/model_augment.h"
#include "prepare/normalize.h"
#include "prepare/pii.h"
#include "prepare/pseudo_label.h"
#include "prepare/report.h"
#include "prepare/sources.h"
#include "prepare/spool.h"
#include "prepare/stages.h"
#include "prepare/synthesize.h"

namespace whet {
namespace {

using json = nlohmann::ordered_json;

std::string dump(const json& line) { return line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

// One split's output file, written as its records come: hashed on the way, each
// record's line in the trace, its length and label in the summary.
class SplitOutput {
 public:
  SplitOutput(const std::string& dir, Split split, bool written, const PipelineConfig& config, bool token_lengths,
              AtomicFile& trace, SplitSummary& summary)
      : name_(fmt::format("{}.jsonl", kSplitNames[size_t(split)])),
        split_(split),
        label_field_(config.label_field),
        token_lengths_(token_lengths),
        trace_(trace),
        summary_(summary),
        state_(XXH3_createState(), XXH3_freeState) {
    if (written) out_ = std::make_unique<AtomicFile>(dir + "/" + name_);
    XXH3_64bits_reset(state_.get());
  }

  void add(const Record& r) {
    WHET_ASSERT(out_);  // a split without a file is asked for no records
    const std::string line = record_to_jsonl(r, label_field_) + "\n";
    out_->write(line);
    XXH3_64bits_update(state_.get(), line.data(), line.size());
    ++records_;
    json traced{{"record", r.example.where()},
                {"fate", kSplitNames[size_t(split_)]},
                {"output", fmt::format("{}:{}", name_, records_)}};
    if (!r.marks.empty()) traced["marks"] = r.marks;
    trace_.write(dump(traced));
    summary_.lengths.push_back(token_lengths_ ? r.tokens : record_content(r).size());
    if (!label_field_.empty()) ++summary_.labels[label_of(r, label_field_)];
  }

  std::optional<OutputFile> commit() {
    if (!out_) return std::nullopt;
    OutputFile file{name_, records_, out_->offset(), XXH3_64bits_digest(state_.get())};
    out_->commit();
    return file;
  }

 private:
  std::string name_;
  Split split_;
  const std::string& label_field_;
  bool token_lengths_;
  AtomicFile& trace_;
  SplitSummary& summary_;
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state_;
  std::unique_ptr<AtomicFile> out_;  // null for a split the config does not ask for
  size_t records_ = 0;
};

// The chunks synthesis made, so that each pair's chunk_id can be looked up.
OutputFile write_chunks(const std::string& dir, const std::vector<Chunk>& chunks) {
  std::string text;
  for (const Chunk& c : chunks) text += dump(json{{"id", c.id}, {"line", c.first_line}, {"text", c.text}});
  write_file_atomic(dir + "/chunks.jsonl", text);
  return OutputFile{"chunks.jsonl", chunks.size(), text.size(), XXH3_64bits(text.data(), text.size())};
}

// Records [begin, begin + n) of `keys`, read back in parallel.
std::vector<Record> read_batch(const Spool& spool, const std::vector<RecordKey>& keys, size_t begin, size_t n) {
  std::vector<Record> batch(n);
  parallel_for(n, [&](size_t i) { batch[i] = spool.read(keys[begin + i]); });
  return batch;
}

// Whether this config runs `stage`: the model-based stages when it asks for
// them (sources with their role, augmentation by a model), the others always.
bool stage_runs(Stage stage, const PipelineConfig& config) {
  switch (stage) {
    case Stage::Synthesize: return has_source_role(config, SourceRole::Documents);
    case Stage::PseudoLabel: return has_source_role(config, SourceRole::Unlabelled);
    case Stage::ModelAugment: return config.augment.paraphrases > 0 || config.augment.questions > 0;
    default: return true;
  }
}

// The model a model-based stage uses, and the config section that names it.
struct NamedModel {
  const char* section;
  const ModelRef* ref;
};
std::optional<NamedModel> model_of(Stage stage, const PipelineConfig& config) {
  switch (stage) {
    case Stage::Synthesize: return NamedModel{"synthesize", &config.synthesize.model};
    case Stage::PseudoLabel: return NamedModel{"pseudo_label", &config.pseudo_label.model};
    case Stage::ModelAugment: return NamedModel{"augment", &config.augment.model};
    default: return std::nullopt;
  }
}

std::string output_folder(const PipelineConfig& config, const PipelineOptions& options) {
  const std::string dir = options.output_dir.empty() ? resolve_path(config, config.output_dir) : options.output_dir;
  if (dir.empty()) fail(config.path, "output_dir: not set (or give --output)");
  return dir;
}

std::optional<TokenCounter> load_counter(const PipelineConfig& config, const PipelineOptions& options) {
  if (options.counter || config.model.empty()) return std::nullopt;
  return TokenCounter::from_model(resolve_path(config, config.model));
}

// One run of the pipeline: the state its stages share, and the passes that
// take the records through them, each pass running its stages (kStages) in
// list order.
class PipelineRun {
 public:
  // Everything that can fail on the config alone fails here, before any data is read.
  PipelineRun(const PipelineConfig& config, const PipelineOptions& options);

  void read();
  void process_held_records();
  void run_key_stages();
  PipelineResult write_outputs();

 private:
  bool runs(Stage stage) const { return stage_runs(stage, config_); }
  void check_models_exist() const;
  StageModel open_model(Stage stage) const;
  StageProgress progress_of(Stage stage) const;
  const StageReport& report_of(Stage stage) const;
  void say_done(Stage stage);
  void say_done(std::initializer_list<Pass> passes);

  // Wall time goes to the messages only: the files must not depend on it.
  // Stages that run batch by batch add up their time here.
  template <typename Work>
  void timed(Stage stage, Work&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    seconds_[stage] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void run_record_stages(std::vector<Record>& records, bool held);
  void run_on_records(Stage stage, std::vector<Record>& records, Ledger& ledger);
  void run_on_keys(Stage stage, Ledger& ledger);
  void write_training_split(SplitOutput& output);

  const PipelineConfig& config_;
  const PipelineOptions& options_;
  PipelineResult result_;
  std::optional<TokenCounter> loaded_counter_;  // the config's model, unless the options give a counter
  const TokenCounter* counter_;                 // null: lengths in characters
  const PiiScanner scanner_;
  std::optional<Spool> spool_;  // made once the checks pass: it opens scratch files in the output folder
  std::map<Stage, double> seconds_;
  std::vector<Record> held_;                // documents and the unlabelled pool, for the model stages
  std::set<std::string> given_labels_;      // for pseudo-labelling: what people labelled, before filtering
  std::vector<RecordKey> keys_;             // after reading, until the split
  SplitKeys parts_;                         // after the split
  std::optional<StageModel> augmenter_;     // model_augment's, loaded when its stage comes
};

PipelineRun::PipelineRun(const PipelineConfig& config, const PipelineOptions& options)
    : config_(config),
      options_(options),
      result_{.output_dir = output_folder(config, options)},
      loaded_counter_(load_counter(config, options)),
      counter_(options.counter ? options.counter : loaded_counter_ ? &*loaded_counter_ : nullptr),
      scanner_(config.pii) {
  result_.token_lengths = counter_ != nullptr;
  for (const std::string& eval : config.leakage.eval_files)
    if (!std::filesystem::exists(resolve_path(config, eval))) fail(config.path, "leakage.eval_files: {} not found", eval);
  check_models_exist();
  std::filesystem::create_directories(result_.output_dir);
  // Labels are only kept to stratify by: with label_field naming a training
  // field, a label is a whole completion.
  spool_.emplace(result_.output_dir, config.dedup, config.seed, config.split.stratify ? config.label_field : "");
  // The stages this config runs, named in list order before any runs: those
  // run batch by batch add each batch's account to theirs.
  for (const StageInfo& s : kStages) {
    if (!runs(s.stage)) continue;
    result_.ledger.begin(s.name, 0);
    result_.ledger.end(0);
  }
}

// Models load when their stage comes (memory for one stage at a time), but a
// path that does not exist fails now, not after hours of the stages before.
void PipelineRun::check_models_exist() const {
  for (const StageInfo& s : kStages) {
    const std::optional<NamedModel> model = model_of(s.stage, config_);
    if (!model || !runs(s.stage)) continue;
    const ModelRef& ref = *model->ref;
    for (const auto& [key, path] : {std::pair{"model", ref.path}, {"adapter", ref.adapter}, {"classifier", ref.classifier}})
      if (!path.empty() && !std::filesystem::exists(resolve_path(config_, path)))
        fail(config_.path, "{}.{}: {} not found", model->section, key, resolve_path(config_, path));
    if (!options_.open_model)
      fail(config_.path, "{}: model-based stages need models; run them with `whet data prepare`", model->section);
  }
}

StageModel PipelineRun::open_model(Stage stage) const {
  ModelRef ref = *model_of(stage, config_)->ref;
  for (std::string* path : {&ref.path, &ref.adapter, &ref.classifier}) *path = resolve_path(config_, *path);
  return options_.open_model(ref);
}

StageProgress PipelineRun::progress_of(Stage stage) const {
  return [this, stage](size_t done, size_t total) {
    if (options_.on_progress) options_.on_progress(stage_name(stage), done, total);
  };
}

const StageReport& PipelineRun::report_of(Stage stage) const {
  const std::vector<StageReport>& stages = result_.ledger.stages();
  const auto at = std::find_if(stages.begin(), stages.end(),
                               [&](const StageReport& s) { return s.stage == stage_name(stage); });
  WHET_ASSERT(at != stages.end());  // the ledger names every stage the config runs
  return *at;
}

void PipelineRun::say_done(Stage stage) {
  if (!options_.on_message) return;
  const StageReport& s = report_of(stage);
  options_.on_message(fmt::format("{}: {} -> {} records in {:.2f} s", s.stage, s.in, s.out, seconds_[stage]));
}

void PipelineRun::say_done(std::initializer_list<Pass> passes) {
  for (const StageInfo& s : kStages)
    if (std::find(passes.begin(), passes.end(), s.pass) != passes.end() && runs(s.stage)) say_done(s.stage);
}

// Read, and the per-record stages batch by batch into the spool as the
// records come. The documents and the unlabelled pool wait whole in held_.
void PipelineRun::read() {
  const auto start = std::chrono::steady_clock::now();
  Ledger read;
  std::vector<Record> batch;
  stream_sources(
      config_, options_.strict, read,
      [&](Record&& r) {
        if (config_.sources[r.source].role != SourceRole::Train) return held_.push_back(std::move(r));
        batch.push_back(std::move(r));
        if (batch.size() == kPipelineBatch) run_record_stages(batch, false);
      },
      progress_of(Stage::Read));
  if (!batch.empty()) run_record_stages(batch, false);
  result_.ledger.absorb(std::move(read));
  double batch_stages = 0;  // run while reading, in its time
  for (const auto& [stage, s] : seconds_) batch_stages += s;
  seconds_[Stage::Read] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - batch_stages;
  say_done(Stage::Read);
}

// The records held while reading, through the same stages and the model
// stages among them. Then the dropped records are put in the order a run over
// all records at once would have.
void PipelineRun::process_held_records() {
  run_record_stages(held_, true);
  result_.ledger.order_dropped();
  say_done({Pass::Records, Pass::HeldRecords});
}

// The per-record stages over a batch in list order, then into the spool:
// making the keys there is dedup's work done early. The model stages read only
// held records; a batch of training records passes them by untouched.
void PipelineRun::run_record_stages(std::vector<Record>& records, bool held) {
  Ledger part;
  for (const StageInfo& s : kStages) {
    if ((s.pass != Pass::Records && s.pass != Pass::HeldRecords) || !runs(s.stage)) continue;
    if (s.pass == Pass::HeldRecords && !held) {
      part.begin(s.name, records.size());
      part.end(records.size());
    } else {
      timed(s.stage, [&] { run_on_records(s.stage, records, part); });
    }
  }
  timed(Stage::Dedup, [&] { spool_->add(records); });
  result_.ledger.absorb(std::move(part));
  records.clear();
}

// What a stage over records does to a batch: the per-record stages and the
// training split's.
void PipelineRun::run_on_records(Stage stage, std::vector<Record>& records, Ledger& ledger) {
  switch (stage) {
    case Stage::Normalize:
      normalize_stage(records, config_.normalize, config_.label_field, ledger);
      if (runs(Stage::PseudoLabel)) collect_given_labels(records, config_, given_labels_);
      return;
    case Stage::Synthesize: {
      const size_t first_new_id = report_of(Stage::Read).in;  // lines read, records and rejects alike
      result_.chunks = synthesize_stage(records, first_new_id, config_, open_model(stage), ledger, progress_of(stage));
      return;
    }
    case Stage::PseudoLabel:
      return pseudo_label_stage(records, given_labels_, config_, open_model(stage), ledger, progress_of(stage));
    case Stage::Filter: return filter_stage(records, config_.filter, config_.label_field, counter_, ledger);
    case Stage::Pii: return pii_stage(records, config_.pii, scanner_, ledger);
    case Stage::Mix: return mix_stage(records, config_.sources, config_.seed, ledger);
    case Stage::Augment: return augment_stage(records, config_.augment, config_.seed, ledger);
    case Stage::ModelAugment:
      if (!augmenter_) augmenter_.emplace(open_model(stage));
      return model_augment_stage(records, config_.augment, config_.seed, *augmenter_, ledger, progress_of(stage));
    case Stage::Read:
    case Stage::Dedup:
    case Stage::Split:
    case Stage::Leakage: break;
  }
  WHET_ASSERT(!"a stage over records");
}

// Dedup, split and leakage, over all records' keys in reading order.
void PipelineRun::run_key_stages() {
  keys_ = spool_->take_keys();
  std::stable_sort(keys_.begin(), keys_.end(), [](const RecordKey& a, const RecordKey& b) { return a.id < b.id; });
  for (const StageInfo& s : kStages) {
    if (s.pass != Pass::Keys || !runs(s.stage)) continue;
    Ledger part;
    timed(s.stage, [&] { run_on_keys(s.stage, part); });
    result_.ledger.absorb(std::move(part));
    say_done(s.stage);
  }
  if (options_.strict && !result_.leaks.empty()) {
    const Leak& first = result_.leaks.front();
    fail(first.where, "--strict: {} leaking record(s); this one shares {:.0f}% of its n-grams with {} ({})",
         result_.leaks.size(), first.overlap * 100, first.against, first.match);
  }
}

void PipelineRun::run_on_keys(Stage stage, Ledger& ledger) {
  switch (stage) {
    case Stage::Dedup: return dedup_stage(keys_, *spool_, ledger);
    case Stage::Split:
      parts_ = split_stage(std::move(keys_), *spool_, config_.split, config_.label_field, config_.seed, ledger);
      return;
    case Stage::Leakage: result_.leaks = leakage_stage(parts_, *spool_, config_.leakage, config_, ledger); return;
    default: break;
  }
  WHET_ASSERT(!"a stage over keys");
}

// The outputs: the training split read back a batch at a time through its
// stages, then validation and test as they are, the trace of every record, the
// manifest and the reports.
PipelineResult PipelineRun::write_outputs() {
  AtomicFile trace(result_.output_dir + "/trace.jsonl");
  std::vector<SplitOutput> outputs;
  for (Split split : {Split::Train, Split::Validation, Split::Test}) {
    const bool written = split == Split::Train ||
                         (split == Split::Validation ? config_.split.validation > 0 : config_.split.test > 0);
    outputs.emplace_back(result_.output_dir, split, written, config_, result_.token_lengths, trace,
                         result_.splits[size_t(split)]);
  }
  write_training_split(outputs[size_t(Split::Train)]);
  for (Split split : {Split::Validation, Split::Test}) {
    const std::vector<RecordKey>& held_out = parts_[size_t(split)];
    for (size_t begin = 0; begin < held_out.size(); begin += kPipelineBatch)
      for (const Record& r : read_batch(*spool_, held_out, begin, std::min(kPipelineBatch, held_out.size() - begin)))
        outputs[size_t(split)].add(r);
  }
  for (const DroppedRecord& d : result_.ledger.dropped())
    trace.write(dump(json{{"record", d.where}, {"fate", "dropped"}, {"stage", d.stage}, {"reason", d.reason}}));

  for (SplitOutput& output : outputs)
    if (std::optional<OutputFile> file = output.commit()) result_.outputs.push_back(*file);
  if (!result_.chunks.empty()) result_.outputs.push_back(write_chunks(result_.output_dir, result_.chunks));
  trace.commit();
  write_file_atomic(result_.output_dir + "/manifest.json", manifest_json(config_, result_));
  const Document report = pipeline_report(config_, result_);
  write_file_atomic(result_.output_dir + "/report.md", render_markdown(report));
  write_file_atomic(result_.output_dir + "/report.html", render_html(report));
  return std::move(result_);
}

void PipelineRun::write_training_split(SplitOutput& output) {
  const std::vector<RecordKey>& train = parts_[size_t(Split::Train)];
  for (size_t begin = 0; begin < train.size(); begin += kPipelineBatch) {
    std::vector<Record> records = read_batch(*spool_, train, begin, std::min(kPipelineBatch, train.size() - begin));
    Ledger part;
    for (const StageInfo& s : kStages)
      if (s.pass == Pass::Training && runs(s.stage)) timed(s.stage, [&] { run_on_records(s.stage, records, part); });
    for (Record& r : records) {
      if (counter_ && r.augmented) r.tokens = counter_->count(r);  // copies changed their inputs
      output.add(r);
    }
    result_.ledger.absorb(std::move(part));
  }
  say_done({Pass::Training});
}

}  // namespace

PipelineResult run_pipeline(const PipelineConfig& config, const PipelineOptions& options) {
  PipelineRun run(config, options);
  run.read();                  // the Read pass, with the Records stages on each batch as it comes
  run.process_held_records();  // the Records and HeldRecords stages on what reading held back
  run.run_key_stages();        // the Keys pass
  return run.write_outputs();  // the Training pass into train.jsonl, then the other files
}

}  // namespace whet
