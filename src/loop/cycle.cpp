#include "loop/cycle.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "eval/pipeline_model.h"
#include "io/json_fields.h"
#include "io/yaml_config.h"
#include "loop/challenger_eval.h"
#include "loop/decision.h"
#include "models/model_loader.h"
#include "prepare/pipeline.h"
#include "track/model_uri.h"
#include "track/registry_source.h"
#include "train/checkpoint.h"
#include "train/run_record.h"

namespace whet::loop {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void advance(Cycle& c, Phase phase) {
  c.state.phase = phase;
  write_watch_state(c.folder, c.state);
}

std::vector<std::string> stored_inputs(const WatchState& state) {
  std::vector<std::string> paths;
  for (const InputFile& in : state.inputs) paths.push_back(in.stored);
  return paths;
}

// Every input so far through the user's `whet data prepare` config, or as it is.
void prepare_data(Cycle& c) {
  c.state.train_files.clear();
  c.state.validation_files.clear();
  if (c.config.prepare.empty()) {
    c.state.train_files = stored_inputs(c.state);
  } else {
    std::vector<SourceConfig> added;
    for (const std::string& path : stored_inputs(c.state)) added.push_back(SourceConfig{.path = path});
    PipelineOptions options;
    options.output_dir = c.folder.data_dir(c.state.cycle);
    options.open_model = pipeline_model_opener();
    options.on_message = c.say;
    const PipelineResult result = run_pipeline(load_pipeline_config(c.config.prepare, added), options);
    for (const OutputFile& out : result.outputs) {
      const std::string path = result.output_dir + "/" + out.name;
      if (out.name == "train.jsonl") c.state.train_files.push_back(path);
      if (out.name == "validation.jsonl" && out.records > 0) c.state.validation_files.push_back(path);
    }
    if (c.state.train_files.empty()) fail(c.config.prepare, "the data pipeline wrote no train.jsonl");
  }
  advance(c, Phase::Prepared);
}

bool run_finished(const std::string& run_dir) {
  const std::string path = run_dir + "/" + std::string(kRunRecordFile);
  return fs::exists(path) && read_json_object(path).value("status", "") == "finished";
}

// The training config with the loop's data, folder and gate.
TrainConfig challenger_config(Cycle& c) {
  std::vector<std::string> overrides = c.config.train_set;
  overrides.push_back("train_data=" + yaml::yaml_list(c.state.train_files, true));
  if (!c.state.validation_files.empty())
    overrides.push_back("val_data=" + yaml::yaml_list(c.state.validation_files, true));
  overrides.push_back("output_dir=" + yaml::yaml_quoted(c.folder.run_dir(c.state.cycle)));
  overrides.push_back("forgetting_gate=true");
  TrainConfig config = load_train_config(c.config.train, overrides);
  track::resolve_training_uris(config, c.registry);  // base_model: models:/NAME@champion continues the champion
  return config;
}

// False when stopped: the run has checkpointed and resumes at the next start.
bool train_challenger(Cycle& c) {
  const std::string run_dir = c.folder.run_dir(c.state.cycle);
  if (!run_finished(run_dir)) {
    TrainRunOptions options;
    options.resume = !latest_checkpoint(run_dir).empty();
    options.stop = c.stop;
    options.on_message = c.say;
    options.on_report = c.on_report;
    options.run_source = "watch";
    c.say(fmt::format("cycle {}: training the challenger in {}{}", c.state.cycle, run_dir,
                      options.resume ? " (resuming)" : ""));
    if (run_training(challenger_config(c), options).interrupted) return false;
  }
  advance(c, Phase::Trained);
  return true;
}

void evaluate(Cycle& c) {
  const std::string base = challenger_config(c).base_model;
  const Evaluation evaluation = evaluate_challenger(c.config, c.registry, c.folder.run_dir(c.state.cycle),
                                                   base.empty() ? default_model_path() : base, c.say);
  const Verdict verdict = judge(evaluation, c.config);
  json j = evaluation_json(evaluation);
  j["verdict"] = {{"promote", verdict.promote}, {"reason", verdict.reason}};
  write_file_atomic(c.folder.evaluation_path(c.state.cycle), j.dump(2) + "\n");
  advance(c, Phase::Evaluated);
}

// The evaluation as written, and its verdict read back (typed, or an error naming the field).
struct RecordedEvaluation {
  json evidence;
  Verdict verdict;
};
RecordedEvaluation read_evaluation(const Cycle& c) {
  const std::string path = c.folder.evaluation_path(c.state.cycle);
  json j = read_json_object(path);
  const Fields verdict = Fields(path, j).object("verdict");
  Verdict v{verdict.boolean("promote", false), verdict.string("reason")};
  return {std::move(j), std::move(v)};
}

std::optional<int64_t> version_of_run(track::RegistryStore& registry, const std::string& name,
                                      const std::string& run_id) {
  const std::optional<track::RegisteredModel> model = registry.find_model(name);
  if (!model || run_id.empty()) return std::nullopt;
  for (const track::ModelVersion& v : model->versions)
    if (v.run_id == run_id) return v.version;
  return std::nullopt;
}

std::optional<int64_t> alias_target(track::RegistryStore& registry, const std::string& name, const std::string& alias) {
  const std::optional<track::RegisteredModel> model = registry.find_model(name);
  if (!model || !model->aliases.count(alias)) return std::nullopt;
  return model->aliases.at(alias);
}

// Every challenger becomes a version (a record that never changes), found
// again by its run id when a kill came between the registration and the state.
void register_challenger(Cycle& c) {
  const std::string run_dir = c.folder.run_dir(c.state.cycle);
  const track::VersionSource source = track::inspect_version_source(run_dir, {});
  c.state.version = version_of_run(c.registry, c.config.name, source.run_id);
  if (!c.state.version) {
    track::RegisterOptions options;
    options.description = fmt::format("whet watch cycle {} ({})", c.state.cycle, c.config.path);
    c.state.version = track::register_version(c.registry, c.config.name, run_dir, options).version;
    c.say(fmt::format("cycle {}: registered as {} version {}", c.state.cycle, c.config.name, *c.state.version));
  }
  advance(c, Phase::Registered);
}

json cycle_inputs(const WatchState& state) {
  json inputs = json::array();
  for (const InputFile& in : state.inputs)
    if (in.cycle == state.cycle) inputs.push_back({{"source", in.source}, {"records", in.records}, {"hash", in.hash}});
  return inputs;
}

// Moves the alias when the verdict says so (unless a kill already did), then records the decision.
void decide(Cycle& c) {
  const auto [evaluation, verdict] = read_evaluation(c);
  const bool promote = verdict.promote;
  const std::string& reason = verdict.reason;
  const std::string event_reason = fmt::format("whet watch cycle {}: {}", c.state.cycle, reason);
  const json before = evaluation["champion_version"];  // a version, or null for the base model
  if (promote && alias_target(c.registry, c.config.name, c.config.alias) != c.state.version)
    c.registry.promote(c.config.name, c.config.alias, *c.state.version, event_reason);
  const json decision = {{"cycle", c.state.cycle},
                         {"decided_at", int64_t(std::time(nullptr))},
                         {"decision", promote ? "promoted" : "rejected"},
                         {"reason", reason},
                         {"model", c.config.name},
                         {"alias", c.config.alias},
                         {"version", *c.state.version},
                         {"champion_before", before},
                         {"champion_after", promote ? json(*c.state.version) : before},
                         {"inputs", cycle_inputs(c.state)},
                         {"run_dir", c.folder.run_dir(c.state.cycle)},
                         {"evaluation", evaluation}};
  write_file_atomic(c.folder.decision_path(c.state.cycle), decision.dump(2) + "\n");
  c.say(fmt::format("cycle {}: {} version {}: {}", c.state.cycle, promote ? "PROMOTED" : "rejected", *c.state.version,
                    reason));
  advance(c, Phase::Decided);
}

std::string stored_path(const Cycle& c, const std::string& source) {
  fs::create_directories(c.folder.inputs_dir());
  return fmt::format("{}/{:04d}-{}", c.folder.inputs_dir(), c.state.cycle, source);
}

// A copy that later cycles read even if the incoming file is removed or rewritten.
InputFile keep_file(const Cycle& c, const NewFile& file) {
  const std::string stored = stored_path(c, file.name);
  fs::copy_file(file.path, stored + ".tmp", fs::copy_options::overwrite_existing);
  fs::rename(stored + ".tmp", stored);
  return {c.state.cycle, file.name, stored, file.records, file.hash};
}

InputFile keep_feedback(const Cycle& c, const std::vector<std::string>& lines) {
  const std::string stored = stored_path(c, "feedback.jsonl");
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  write_file_atomic(stored, text);
  return {c.state.cycle, "feedback", stored, int64_t(lines.size()), content_hash(stored)};
}

}  // namespace

void open_cycle(Cycle& c, const std::vector<NewFile>& files, const std::vector<std::string>& feedback) {
  WHET_ASSERT(!c.state.cycle_open());
  ++c.state.cycle;
  c.state.version.reset();
  for (const NewFile& f : files) c.state.inputs.push_back(keep_file(c, f));
  if (!feedback.empty()) {
    c.state.inputs.push_back(keep_feedback(c, feedback));
    c.state.feedback_used += int64_t(feedback.size());
  }
  c.say(fmt::format("cycle {}: {} new file(s), {} feedback record(s)", c.state.cycle, files.size(), feedback.size()));
  advance(c, Phase::Collected);
}

bool finish_cycle(Cycle& c) {
  if (c.state.phase == Phase::Collected) prepare_data(c);
  if (c.state.phase == Phase::Prepared && !train_challenger(c)) return false;
  if (c.state.phase == Phase::Trained) evaluate(c);
  if (c.state.phase == Phase::Evaluated) register_challenger(c);
  if (c.state.phase == Phase::Registered) decide(c);
  return true;
}

}  // namespace whet::loop
