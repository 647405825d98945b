#include "prepare/pipeline.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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

// A ledger of the stages named, each passed by `passing` records untouched.
// Named in advance, stages run batch by batch are reported in pipeline order
// whichever batch reaches them first.
Ledger ledger_for(const std::vector<std::string>& stages, size_t passing = 0) {
  Ledger ledger;
  for (const std::string& stage : stages) {
    ledger.begin(stage, passing);
    ledger.end(passing);
  }
  return ledger;
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
  // Stages that run batch by batch add up their time here.
  std::map<std::string, double> seconds;
  auto timed = [&](const std::string& stage, auto&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    seconds[stage] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  size_t stages_said = 0;
  auto say_stages = [&] {
    for (; stages_said < result.ledger.stages().size(); ++stages_said) {
      const StageReport& s = result.ledger.stages()[stages_said];
      said(fmt::format("{}: {} -> {} records in {:.2f} s", s.stage, s.in, s.out, seconds[s.stage]));
    }
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
  const bool synthesizing = has_source_role(config, SourceRole::Documents);
  const bool pseudo_labelling = has_source_role(config, SourceRole::Unlabelled);
  const bool model_augmenting = config.augment.paraphrases > 0 || config.augment.questions > 0;
  auto check_model = [&](const char* stage, const ModelRef& ref) {
    for (const auto& [key, path] : {std::pair{"model", ref.path}, {"adapter", ref.adapter}, {"classifier", ref.classifier}})
      if (!path.empty() && !std::filesystem::exists(resolve_path(config, path)))
        fail(config.path, "{}.{}: {} not found", stage, key, resolve_path(config, path));
    if (!options.open_model) fail(config.path, "{}: model-based stages need models; run them with `whet data prepare`", stage);
  };
  if (synthesizing) check_model("synthesize", config.synthesize.model);
  if (pseudo_labelling) check_model("pseudo_label", config.pseudo_label.model);
  if (model_augmenting) check_model("augment", config.augment.model);
  auto open_model = [&](ModelRef ref) {
    for (std::string* path : {&ref.path, &ref.adapter, &ref.classifier}) *path = resolve_path(config, *path);
    return options.open_model(ref);
  };
  auto progress_of = [&](const std::string& stage) -> StageProgress {
    return [&options, stage](size_t done, size_t total) {
      if (options.on_progress) options.on_progress(stage, done, total);
    };
  };
  std::filesystem::create_directories(result.output_dir);
  // Labels are only kept to stratify by: with label_field naming a training
  // field, a label is a whole completion.
  Spool spool(result.output_dir, config.dedup, config.seed, config.split.stratify ? config.label_field : "");
  Ledger& ledger = result.ledger;

  // Read, and the stages that look at one record at a time, batch by batch
  // into the spool. Making the keys there is dedup's work done early.
  std::vector<std::string> per_record_stages{"normalize"};
  if (synthesizing) per_record_stages.push_back("synthesize");
  if (pseudo_labelling) per_record_stages.push_back("pseudo_label");
  per_record_stages.insert(per_record_stages.end(), {"filter", "pii"});
  Ledger per_record = ledger_for(per_record_stages);
  std::set<std::string> given_labels;  // for pseudo-labelling: what people labelled, before filtering
  size_t untouched = 0;                // records the model stages pass by: those of training sources
  auto normalize = [&](std::vector<Record>& batch, Ledger& part) {
    timed("normalize", [&] { normalize_stage(batch, config.normalize, config.label_field, part); });
    if (pseudo_labelling) collect_given_labels(batch, config, given_labels);
  };
  auto filter_and_spool = [&](std::vector<Record>& batch, Ledger& part) {
    timed("filter", [&] { filter_stage(batch, config.filter, config.label_field, counter, part); });
    timed("pii", [&] { pii_stage(batch, config.pii, scanner, part); });
    timed("dedup", [&] { spool.add(batch); });
    per_record.absorb(std::move(part));
    batch.clear();
  };
  std::vector<Record> batch, held;  // held: documents and the unlabelled pool, for the model stages
  auto flush = [&] {
    Ledger part;
    normalize(batch, part);
    untouched += batch.size();
    filter_and_spool(batch, part);
  };
  const auto read_start = std::chrono::steady_clock::now();
  stream_sources(
      config, options.strict, ledger,
      [&](Record&& r) {
        if (config.sources[r.source].role != SourceRole::Train) return held.push_back(std::move(r));
        batch.push_back(std::move(r));
        if (batch.size() == kPipelineBatch) flush();
      },
      progress_of("read"));
  if (!batch.empty()) flush();
  double batch_stages = 0;  // run while reading, in its time
  for (const auto& [stage, s] : seconds) batch_stages += s;
  seconds["read"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - read_start).count() - batch_stages;
  say_stages();
  if (synthesizing || pseudo_labelling) {
    Ledger part;
    normalize(held, part);
    if (synthesizing) {
      const size_t first_new_id = ledger.stages().back().in;  // lines read, records and rejects alike
      timed("synthesize", [&] {
        result.chunks = synthesize_stage(held, first_new_id, config, open_model(config.synthesize.model), part,
                                         progress_of("synthesize"));
      });
    }
    if (pseudo_labelling) {
      timed("pseudo_label", [&] {
        pseudo_label_stage(held, given_labels, config, open_model(config.pseudo_label.model), part,
                           progress_of("pseudo_label"));
      });
    }
    filter_and_spool(held, part);
    std::vector<std::string> model_stages;
    if (synthesizing) model_stages.push_back("synthesize");
    if (pseudo_labelling) model_stages.push_back("pseudo_label");
    per_record.absorb(ledger_for(model_stages, untouched));
  }
  ledger.absorb(std::move(per_record));
  ledger.order_dropped();
  say_stages();

  // The stages over all records, on their keys in reading order.
  std::vector<RecordKey> keys = spool.take_keys();
  std::stable_sort(keys.begin(), keys.end(), [](const RecordKey& a, const RecordKey& b) { return a.id < b.id; });
  timed("dedup", [&] { dedup_stage(keys, spool, ledger); });
  say_stages();
  SplitKeys parts;
  timed("split", [&] { parts = split_stage(std::move(keys), spool, config.split, config.label_field, config.seed, ledger); });
  say_stages();
  timed("leakage", [&] { result.leaks = leakage_stage(parts, spool, config.leakage, config, ledger); });
  say_stages();
  if (options.strict && !result.leaks.empty()) {
    const Leak& first = result.leaks.front();
    fail(first.where, "--strict: {} leaking record(s); this one shares {:.0f}% of its n-grams with {} ({})",
         result.leaks.size(), first.overlap * 100, first.against, first.match);
  }

  // The outputs: training records read back a batch at a time through mixing
  // and augmentation, then validation and test as they are.
  AtomicFile trace(result.output_dir + "/trace.jsonl");
  std::vector<SplitOutput> outputs;
  for (Split split : {Split::Train, Split::Validation, Split::Test}) {
    const bool written = split == Split::Train ||
                         (split == Split::Validation ? config.split.validation > 0 : config.split.test > 0);
    outputs.emplace_back(result.output_dir, split, written, config, result.token_lengths, trace,
                         result.splits[size_t(split)]);
  }
  std::vector<std::string> train_stages{"mix", "augment"};
  if (model_augmenting) train_stages.push_back("model_augment");
  Ledger train_ledger = ledger_for(train_stages);
  std::optional<StageModel> augmenter;
  if (model_augmenting) augmenter.emplace(open_model(config.augment.model));
  const std::vector<RecordKey>& train = parts[size_t(Split::Train)];
  for (size_t begin = 0; begin < train.size(); begin += kPipelineBatch) {
    std::vector<Record> records = read_batch(spool, train, begin, std::min(kPipelineBatch, train.size() - begin));
    Ledger part;
    timed("mix", [&] { mix_stage(records, config.sources, config.seed, part); });
    timed("augment", [&] { augment_stage(records, config.augment, config.seed, part); });
    if (augmenter) {
      timed("model_augment", [&] {
        model_augment_stage(records, config.augment, config.seed, *augmenter, part, progress_of("model_augment"));
      });
    }
    for (Record& r : records) {
      if (counter && r.augmented) r.tokens = counter->count(r);  // copies changed their inputs
      outputs[size_t(Split::Train)].add(r);
    }
    train_ledger.absorb(std::move(part));
  }
  ledger.absorb(std::move(train_ledger));
  say_stages();
  for (Split split : {Split::Validation, Split::Test}) {
    const std::vector<RecordKey>& held_out = parts[size_t(split)];
    for (size_t begin = 0; begin < held_out.size(); begin += kPipelineBatch)
      for (const Record& r : read_batch(spool, held_out, begin, std::min(kPipelineBatch, held_out.size() - begin)))
        outputs[size_t(split)].add(r);
  }
  for (const DroppedRecord& d : ledger.dropped())
    trace.write(dump(json{{"record", d.where}, {"fate", "dropped"}, {"stage", d.stage}, {"reason", d.reason}}));

  for (SplitOutput& output : outputs)
    if (std::optional<OutputFile> file = output.commit()) result.outputs.push_back(*file);
  if (!result.chunks.empty()) result.outputs.push_back(write_chunks(result.output_dir, result.chunks));
  trace.commit();
  write_file_atomic(result.output_dir + "/manifest.json", manifest_json(config, result));
  const Document report = pipeline_report(config, result);
  write_file_atomic(result.output_dir + "/report.md", render_markdown(report));
  write_file_atomic(result.output_dir + "/report.html", render_html(report));
  return result;
}

}  // namespace whet
