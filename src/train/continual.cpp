#include "train/continual.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "eval/evaluate.h"
#include "models/llama_export.h"
#include "models/lora_files.h"
#include "models/lora_merge.h"

namespace whet {

namespace fs = std::filesystem;

namespace {

std::string stage_dir(const TrainConfig& config, size_t stage) {
  return fmt::format("{}/stage-{}", config.output_dir, stage + 1);
}

// What one stage trains: its task's data, and how it builds on the stages before.
TrainConfig stage_config(const TrainConfig& config, size_t stage, const std::string& previous_output,
                         const std::string& previous_base) {
  TrainConfig c = config;
  c.task_sequence.clear();
  c.task_sequence_eval.clear();
  c.output_dir = stage_dir(config, stage);
  c.train_data = {config.task_sequence[stage]};
  if (stage == 0) return c;
  if (config.continual_strategy == "replay") {
    // Rehearsal: every earlier stage's examples are trained on again beside the new task's.
    c.train_data.insert(c.train_data.end(), config.task_sequence.begin(), config.task_sequence.begin() + long(stage));
  }
  if (config.continual_strategy == "progressive") {
    c.base_model = previous_base;  // the earlier adapters folded in and frozen; a new adapter learns this task
  } else if (config.method == TrainMethod::Lora) {
    c.lora_model_dir = previous_output;  // the same adapter trains on
  } else {
    c.base_model = previous_output;  // the model as the last stage left it
  }
  return c;
}

// The model as a stage left it: its base with the stage's adapter, if it trained one.
LoadedModel stage_model(const TrainConfig& stage, const std::string& output) {
  const std::string base = stage.base_model.empty() ? default_model_path() : stage.base_model;
  if (stage.method != TrainMethod::Lora) return load_model(output, WeightFormat::F32);
  LoadedModel model = load_model(base, *weight_format_from_name(stage.weights));
  model.adapter = std::make_shared<const LlamaLora>(load_lora_adapter(output, model.model.config));
  return model;
}

// Progressive stages: the base of the next stage is this stage's model with its
// adapter folded in, written in f32 so that nothing is rounded away.
std::string folded_dir(const TrainConfig& stage) { return stage.output_dir + "/merged"; }
void fold_adapter(const TrainConfig& stage, LoadedModel model) {
  merge_lora(model.model, *model.adapter);
  model.adapter.reset();
  export_hf_dir(model, folded_dir(stage), DType::F32);
}

// Under mpirun every rank trains each stage, and rank 0 alone writes, scores and
// folds; the next stage starts from what it wrote, so the others wait for it, and
// must be able to read it (output_dir on a filesystem every rank sees).
void wait_for_rank_0(dist::Communicator* world, const std::string& written) {
  if (!world || world->size() == 1) return;
  world->barrier();
  if (!fs::exists(written))
    fail(written, "rank {} cannot read what rank 0 wrote here: task_sequence under mpirun needs output_dir on a "
         "filesystem that every rank sees", world->rank());
}

// The evaluation files scored after every stage, named with their headline metrics in `result`.
std::vector<Task> read_stage_tasks(const TrainConfig& config, ContinualResult& result) {
  std::vector<Task> tasks;
  for (const std::string& path : config.task_sequence_eval) {
    tasks.push_back(read_task(path));
    result.tasks.push_back(path);
    result.metrics.push_back(metrics_of(tasks.back().kind).front().name);
    result.higher_is_better.push_back(metrics_of(tasks.back().kind).front().higher_is_better);
  }
  return tasks;
}

// Each task's headline metric (the first of its kind) for the model as it stands.
std::vector<double> score_tasks(const LoadedModel& model, const std::vector<Task>& tasks) {
  std::vector<double> scores;
  EvalOptions options;
  options.resamples = 1;  // the matrix needs point values; intervals would cost a resampling each
  for (const Task& task : tasks) scores.push_back(evaluate_task(model, "stage", task, options).metrics.front().value);
  return scores;
}

// Backward transfer (Lopez-Paz and Ranzato, 2017) and forgetting (Chaudhry et
// al., 2018) of the matrix, each oriented so that a metric where lower is
// better (perplexity) reads the same way as accuracy.
void summarise(ContinualResult& r) {
  const size_t stages = r.scores.size(), last = stages - 1;
  r.backward_transfer = 0;
  r.forgetting.clear();
  for (size_t j = 0; j + 1 < stages; ++j) {
    const double sign = r.higher_is_better[j] ? 1.0 : -1.0;
    r.backward_transfer += sign * (r.scores[last][j] - r.scores[j][j]) / double(last);
    double best = sign * r.scores[j][j];
    for (size_t l = j; l < last; ++l) best = std::max(best, sign * r.scores[l][j]);
    r.forgetting.push_back(best - sign * r.scores[last][j]);
  }
}

void write_report(const ContinualResult& r, const TrainConfig& config) {
  const nlohmann::json j = {{"strategy", config.continual_strategy},
                            {"tasks", r.tasks},
                            {"metrics", r.metrics},
                            {"scores", r.scores},
                            {"backward_transfer", r.backward_transfer},
                            {"forgetting", r.forgetting}};
  write_file_atomic(config.output_dir + "/continual.json", j.dump(2) + "\n");
}

}  // namespace

ContinualResult run_task_sequence(const TrainConfig& config, const TrainRunOptions& options) {
  const bool writes = !options.world || options.world->rank() == 0;
  const bool progressive = config.continual_strategy == "progressive";
  ContinualResult result;
  const std::vector<Task> tasks = writes ? read_stage_tasks(config, result) : std::vector<Task>{};
  if (writes) fs::create_directories(config.output_dir);
  std::string previous_output, previous_base = config.base_model;
  for (size_t stage = 0; stage < config.task_sequence.size(); ++stage) {
    const TrainConfig c = stage_config(config, stage, previous_output, previous_base);
    if (options.on_message)
      options.on_message(fmt::format("stage {} of {}: {}", stage + 1, config.task_sequence.size(), c.train_data.front()));
    result.stages.push_back(run_training(c, options));
    if (result.stages.back().interrupted) return result;
    previous_output = result.stages.back().output;
    if (writes) {
      LoadedModel model = stage_model(c, previous_output);
      result.scores.push_back(score_tasks(model, tasks));
      if (progressive) fold_adapter(c, std::move(model));
    }
    if (progressive) previous_base = folded_dir(c);
    if (stage + 1 < config.task_sequence.size())
      wait_for_rank_0(options.world, progressive ? previous_base : previous_output);
  }
  result.output = previous_output;
  if (!writes) return result;
  summarise(result);
  write_report(result, config);
  return result;
}

std::string continual_table(const ContinualResult& r) {
  std::string header = "| after stage |", rule = "|---|";
  for (size_t j = 0; j < r.tasks.size(); ++j) {
    header += fmt::format(" {} ({}) |", r.tasks[j], r.metrics[j]);
    rule += "---|";
  }
  std::string out = header + "\n" + rule + "\n";
  for (size_t i = 0; i < r.scores.size(); ++i) {
    out += fmt::format("| {} |", i + 1);
    for (double s : r.scores[i]) out += fmt::format(" {:.4f} |", s);
    out += "\n";
  }
  out += fmt::format("\nbackward transfer {:+.4f}; forgetting per task:", r.backward_transfer);
  for (size_t j = 0; j < r.forgetting.size(); ++j) out += fmt::format(" {} {:.4f}", r.tasks[j], r.forgetting[j]);
  return out + "\n";
}

}  // namespace whet
