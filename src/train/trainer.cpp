#include "train/trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/shuffle.h"
#include "eval/evaluate.h"
#include "train/classification_data.h"
#include "io/json_fields.h"
#include "models/llama_export.h"
#include "models/lora_peft.h"
#include "train/checkpoint.h"
#include "train/grad_clip.h"
#include "train/lr_schedule.h"
#include "train/trainable.h"

namespace whet {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

DataOptions data_options(const TrainConfig& c) {
  DataOptions d;
  d.format = c.data_format;
  d.train_on_inputs = c.train_on_inputs;
  d.sequence_len = c.sequence_len;
  d.sample_packing = c.sample_packing;
  d.drop_long = c.drop_long;
  d.strict = c.strict;
  d.seed = uint64_t(c.seed);
  d.val_set_size = c.val_set_size;
  return d;
}

TokenSequence view(const TrainingSequence& s) { return {s.ids, s.targets, s.positions, s.segment_begin}; }

int64_t target_count(const TrainingSequence& s) {
  if (s.label >= 0) return 1;
  return std::count_if(s.targets.begin(), s.targets.end(), [](int32_t t) { return t >= 0; });
}

// One sequence's summed loss, and with a non-zero grad_scale its gradients:
// through the LM head, or through the classification head for a labelled one.
CrossEntropyResult sequence_loss(const LoadedModel& loaded, const TrainableState& state, const TrainPass& pass,
                                 LlamaActivations& acts, const TrainingSequence& s, float grad_scale) {
  if (s.label >= 0) {
    ClassifierTraining& c = *state.classifier;
    const bool backward = grad_scale != 0.0f;
    ClassifierPass head =
        c.head.pass(s.label, backward ? c.dweight.data() : nullptr, backward ? c.dbias.data() : nullptr);
    if (state.grads || state.lora) return {llama_classify(loaded.model, pass, acts, s.ids, head, grad_scale).loss, 1};
    auto cached = c.features.find(&s);
    if (cached == c.features.end())
      cached = c.features.emplace(&s, llama_pooled_hidden(loaded.model, nullptr, acts, s.ids, head.pooling)).first;
    // The pooled vector is the head's whole input: one row, "last" pooling of it is itself.
    const ClassifierHeadResult r =
        classifier_head(nullptr, head.dweight, head.dbias, cached->second.data(), 1,
                        int64_t(cached->second.size()), head.weight, head.bias, head.labels, Pooling::Last, s.label,
                        grad_scale);
    return {r.loss, 1};
  }
  return grad_scale != 0.0f ? llama_forward_backward(loaded.model, pass, acts, view(s), grad_scale)
                            : llama_loss(loaded.model, pass.lora, acts, view(s));
}

// Sequences of one epoch in training order: the first epoch keeps the data
// layer's shuffle, later ones reshuffle with a seed of their own.
std::vector<size_t> epoch_order(size_t count, uint64_t seed, int64_t epoch) {
  if (epoch == 0) {
    std::vector<size_t> order(count);
    for (size_t i = 0; i < count; ++i) order[i] = i;
    return order;
  }
  return shuffled_order(count, seed * 1000003ull + uint64_t(epoch));
}

double mean_loss(const LoadedModel& loaded, const TrainableState& state, LlamaActivations& acts,
                 const std::vector<TrainingSequence>& sequences) {
  double sum = 0.0;
  int64_t targets = 0;
  TrainPass pass;
  pass.lora = state.lora.get();
  for (const TrainingSequence& s : sequences) {
    const CrossEntropyResult r = sequence_loss(loaded, state, pass, acts, s, 0.0f);
    sum += r.loss_sum;
    targets += r.targets;
  }
  return targets ? sum / double(targets) : std::numeric_limits<double>::quiet_NaN();
}

// Whether metric_for_best_model is better higher; an error naming the key when eval_task has no such metric.
bool metric_direction(const Task& task, const std::string& metric) {
  std::vector<std::string> names;
  for (const MetricSpec& spec : metrics_of(task.kind)) {
    if (spec.name == metric) return spec.higher_is_better;
    names.push_back(spec.name);
  }
  fail("metric_for_best_model", "{} is not a metric of {} ({} task; its metrics: val_loss, {})", metric, task.path,
       task_kind_name(task.kind), fmt::join(names, ", "));
}

// eval_task scored by the model as it stands: trained weights in place, the
// adapter applied as at inference (without dropout).
std::vector<Metric> score_task(LoadedModel& loaded, const TrainableState& state, const Task& task) {
  loaded.adapter = state.lora ? std::shared_ptr<const LlamaLora>(state.lora.get(), [](const LlamaLora*) {}) : nullptr;
  EvalOptions options;
  if (state.classifier) options.classifier = &state.classifier->head;
  options.resamples = 100;  // intervals are not shown during training
  const TaskResult result = evaluate_task(loaded, "training", task, options);
  loaded.adapter.reset();
  return result.metrics;
}

OptimizerConfig optimizer_config(const TrainConfig& c) {
  OptimizerConfig o;
  o.kind = c.optimizer;
  o.beta1 = c.adam_beta1;
  o.beta2 = c.adam_beta2;
  o.eps = c.adam_epsilon;
  o.momentum = c.momentum;
  o.weight_decay = c.weight_decay;
  return o;
}

// Writes the trained result: a PEFT adapter, or the model as an HF directory and GGUF.
// What a run writes: a classification head, if any, beside the adapter, or
// beside the model when base weights trained (a head on a frozen base is written alone).
void write_outputs(LoadedModel& loaded, TrainableState& state, const std::string& dir, const std::string& base) {
  if (state.classifier) save_sequence_classifier(state.classifier->head, dir);
  if (state.lora) {
    save_peft_adapter(*state.lora, dir, base);
  } else if (state.grads) {
    export_hf_dir(loaded, dir, DType::F32);
    export_gguf(loaded, dir + "/model.gguf", DType::F16);
  }
}

std::string output_name(const TrainableState& state) {
  return state.lora ? "adapter" : state.grads ? "model" : "classifier";
}

// metrics.jsonl. A resumed run first drops the lines after its checkpoint (a
// crash may have logged steps it then lost), so the file reads as one run.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, int64_t keep_through_step) {
    std::string kept;
    if (keep_through_step >= 0) {
      std::ifstream old(path);
      for (std::string line; std::getline(old, line);) {
        const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("step", int64_t(-1)) <= keep_through_step) kept += line + "\n";
      }
    }
    out_.open(path, std::ios::trunc);
    if (!out_) fail(path, "cannot open for writing");
    out_ << kept;
  }
  void write(const StepReport& r) {
    nlohmann::json j = {{"step", r.step}, {"epoch", r.epoch}};
    if (r.is_eval) {
      if (!std::isnan(r.val_loss)) {
        j["val_loss"] = r.val_loss;
        j["val_perplexity"] = std::exp(r.val_loss);
      }
      for (const auto& [name, value] : r.eval_metrics) j["eval_" + name] = value;
    } else {
      j.update({{"loss", r.loss}, {"lr", r.lr}, {"grad_norm", r.grad_norm}, {"tokens_per_s", r.tokens_per_s},
                {"elapsed_s", r.elapsed_s}});
    }
    out_ << j.dump() << '\n';
    out_.flush();
  }

 private:
  std::ofstream out_;
};

}  // namespace

TrainRunResult run_training(const TrainConfig& config, const TrainRunOptions& options) {
  auto say = [&](const std::string& line) {
    if (options.on_message) options.on_message(line);
  };
  if (config.output_dir.empty()) fail("train", "output_dir is required");
  // The evaluation task is checked before anything is loaded or written.
  const std::optional<Task> eval_task = config.eval_task.empty() ? std::nullopt : std::optional(read_task(config.eval_task));
  const bool best_by_loss = config.metric_for_best_model == "val_loss";
  const bool higher_is_better = !best_by_loss && metric_direction(*eval_task, config.metric_for_best_model);

  const std::string base = config.base_model.empty() ? default_model_path() : config.base_model;
  const bool trains_base = config.method != TrainMethod::Lora;
  const WeightFormat format = trains_base ? WeightFormat::F32 : *weight_format_from_name(config.weights);
  LoadedModel loaded = load_model(base, format);
  if (trains_base) own_trainable_weights(loaded);
  const LlamaConfig& mc = loaded.model.config;
  say(fmt::format("model {} ({} layers, weights {})", base, mc.num_layers, trains_base ? "f32" : config.weights));

  Dataset data;
  std::optional<ClassifierTraining> classifier;
  if (config.task_type == "seq_cls") {
    ClassificationData labelled = load_classification_data(config, loaded);
    say(labelled.summary);
    data.train = std::move(labelled.train);
    data.validation = std::move(labelled.validation);
    classifier.emplace(make_sequence_classifier(std::move(labelled.labels), *pooling_from_name(config.pooling),
                                                mc.hidden_size, uint64_t(config.seed)));
  } else {
    const ChatTemplate chat = loaded.chat_template ? *loaded.chat_template : ChatTemplate::by_name("alpaca");
    data = load_dataset(config.train_data, config.val_data, loaded.tokenizer, chat, data_options(config));
    say(data.stats.summary());
  }
  ClassifierTraining* const head = classifier ? &*classifier : nullptr;

  fs::create_directories(config.output_dir);
  write_file_atomic(config.output_dir + "/config.yaml", dump_train_config(config));

  const int64_t per_step = int64_t(config.micro_batch_size) * config.gradient_accumulation_steps;
  const int64_t steps_per_epoch = std::max<int64_t>(1, (int64_t(data.train.size()) + per_step - 1) / per_step);
  const int64_t total_steps = config.max_steps > 0 ? config.max_steps : steps_per_epoch * config.num_epochs;
  const LrSchedule schedule{config.lr_scheduler,
                            config.warmup_steps > 0 ? config.warmup_steps
                                                    : int64_t(std::ceil(config.warmup_ratio * double(total_steps))),
                            0.0};

  int first_block = initial_first_trainable_block(config, mc);
  TrainableState state = make_trainable(loaded, config, first_block, head);
  auto optimizer = std::make_unique<Optimizer>(state.parameters, optimizer_config(config));
  LoopState loop;
  if (options.resume) {
    const std::string checkpoint = latest_checkpoint(config.output_dir);
    if (checkpoint.empty()) fail(config.output_dir, "--resume: no checkpoint in {}/checkpoints", config.output_dir);
    // Gradual unfreezing may have released blocks since the start: rebuild what trains first.
    const nlohmann::json saved = read_json_object(checkpoint + "/trainer_state.json");
    first_block = first_trainable_block_at(config, mc, saved.value("step", int64_t(0)), saved.value("epoch", int64_t(0)));
    state = make_trainable(loaded, config, first_block, head);
    optimizer = std::make_unique<Optimizer>(state.parameters, optimizer_config(config));
    loop = load_checkpoint(checkpoint, state.parameters, *optimizer);
    say(fmt::format("resumed from {} at step {}", checkpoint, loop.step));
  }
  size_t trainable_values = 0;
  for (const Parameter& p : state.parameters) trainable_values += size_t(p.numel);
  say(fmt::format("{} trainable values in {} tensors; {} steps ({} per epoch), {} sequences per step",
                  trainable_values, state.parameters.size(), total_steps, steps_per_epoch, per_step));

  LlamaActivations acts(mc, config.sequence_len, state.lora ? state.lora->config.rank : 0);
  MetricsLog metrics(config.output_dir + "/metrics.jsonl", options.resume ? loop.step : -1);
  const bool has_validation = !data.validation.empty();
  TrainRunResult result;
  result.first_val_loss = result.best_val_loss = std::numeric_limits<double>::quiet_NaN();

  // Returns true when early stopping says to stop.
  auto evaluate = [&]() {
    if (!has_validation && !eval_task) return false;
    StepReport r{loop.step, total_steps, loop.epoch};
    r.is_eval = true;
    if (has_validation) {
      r.val_loss = mean_loss(loaded, state, acts, data.validation);
      if (std::isnan(result.first_val_loss)) result.first_val_loss = r.val_loss;
      loop.best_val_loss = std::min(loop.best_val_loss, r.val_loss);
    }
    double score = r.val_loss;
    if (eval_task) {
      for (const Metric& m : score_task(loaded, state, *eval_task)) {
        r.eval_metrics.emplace_back(m.name, m.value);
        if (m.name == config.metric_for_best_model) score = higher_is_better ? -m.value : m.value;
      }
    }
    metrics.write(r);
    if (options.on_report) options.on_report(r);
    if (score < loop.best_score - config.early_stopping_min_delta) {
      loop.best_score = score;
      loop.best_step = loop.step;
      loop.evals_without_improvement = 0;
      write_outputs(loaded, state, config.output_dir + "/best", base);
    } else {
      ++loop.evals_without_improvement;
    }
    return config.early_stopping_patience > 0 && loop.evals_without_improvement >= config.early_stopping_patience;
  };
  auto checkpoint = [&]() {
    const std::string dir = fmt::format("{}/checkpoints/step-{}", config.output_dir, loop.step);
    save_checkpoint(dir, state.parameters, *optimizer, loop);
    prune_checkpoints(config.output_dir, config.save_total_limit);
    if (options.on_checkpoint) options.on_checkpoint(loop.step, dir);
  };

  if (!options.resume && has_validation) evaluate();  // the base model's validation loss, the number to beat
  const auto start = Clock::now();
  std::vector<size_t> order = epoch_order(data.train.size(), uint64_t(config.seed), loop.epoch);
  while (loop.step < total_steps) {
    if (options.stop && options.stop->load()) {
      checkpoint();
      result.interrupted = true;
      say(fmt::format("interrupted: checkpoint at step {}; continue with --resume", loop.step));
      break;
    }
    const int wanted_block = first_trainable_block_at(config, mc, loop.step, loop.epoch);
    if (wanted_block != first_block) {
      // Gradual unfreezing released a block: same optimiser state for what already trained, zero for the new.
      first_block = wanted_block;
      const std::vector<TensorView> old_state = optimizer->state();
      std::vector<std::vector<float>> zeros;
      TrainableState next = make_trainable(loaded, config, first_block, head);
      auto next_optimizer = std::make_unique<Optimizer>(next.parameters, optimizer_config(config));
      std::vector<TensorView> carried;
      for (const TensorView& fresh : next_optimizer->state()) {
        auto it = std::find_if(old_state.begin(), old_state.end(), [&](const TensorView& o) { return o.name == fresh.name; });
        if (it != old_state.end()) {
          carried.push_back(*it);
        } else {
          zeros.emplace_back(fresh.numel(), 0.0f);
          carried.push_back(TensorView{fresh.name, DType::F32, fresh.shape,
                                       reinterpret_cast<const uint8_t*>(zeros.back().data()), fresh.nbytes});
        }
      }
      next_optimizer->restore(optimizer->step_count(), carried);
      state = std::move(next);
      optimizer = std::move(next_optimizer);
      say(fmt::format("step {}: blocks {}..{} now train", loop.step, first_block, mc.num_layers - 1));
    }

    // One optimiser step over the next micro-batches; the loss is averaged over
    // all their targets, so accumulation gives the same gradient as one big batch.
    std::vector<const TrainingSequence*> batch;
    while (int64_t(batch.size()) < per_step && loop.epoch_position < int64_t(order.size()))
      batch.push_back(&data.train[order[loop.epoch_position++]]);
    int64_t targets = 0, tokens = 0;
    for (const TrainingSequence* s : batch) targets += target_count(*s), tokens += int64_t(s->ids.size());
    double loss_sum = 0.0;
    const auto step_start = Clock::now();
    TrainPass pass = state.pass();
    for (size_t i = 0; i < batch.size(); ++i) {
      pass.dropout_seed = uint64_t(config.seed) * 0x9e3779b97f4a7c15ull + uint64_t(loop.step) * 1024 + i;
      loss_sum += sequence_loss(loaded, state, pass, acts, *batch[i], 1.0f / float(targets)).loss_sum;
    }
    const double norm =
        config.max_grad_norm > 0 ? clip_grad_norm(state.parameters, config.max_grad_norm) : grad_norm(state.parameters);
    const double lr = lr_at(schedule, config.learning_rate, loop.step, total_steps);
    if (std::isfinite(norm)) optimizer->step(lr);
    else say(fmt::format("step {}: non-finite gradient norm, update skipped", loop.step));
    zero_grads(state);
    ++loop.step;

    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    StepReport r{loop.step, total_steps, loop.epoch, loss_sum / double(targets), lr, norm,
                 double(tokens) / step_seconds, std::chrono::duration<double>(Clock::now() - start).count()};
    metrics.write(r);
    if (options.on_report) options.on_report(r);
    result.final_train_loss = r.loss;

    const bool epoch_done = loop.epoch_position >= int64_t(order.size());
    bool stop_early = false;
    if ((config.eval_steps > 0 && loop.step % config.eval_steps == 0) || (config.eval_steps == 0 && epoch_done))
      stop_early = evaluate();
    if (epoch_done) {
      ++loop.epoch;
      loop.epoch_position = 0;
      order = epoch_order(data.train.size(), uint64_t(config.seed), loop.epoch);
    }
    if ((config.save_steps > 0 && loop.step % config.save_steps == 0) || (config.save_steps == 0 && epoch_done))
      checkpoint();
    if (stop_early) {
      result.stopped_early = true;
      say(fmt::format("early stopping at step {}: no improvement of {} in {} evaluations (best {:.4f} at step {})",
                      loop.step, config.metric_for_best_model, loop.evals_without_improvement,
                      higher_is_better ? -loop.best_score : loop.best_score, loop.best_step));
      break;
    }
  }
  result.steps = loop.step;
  if (has_validation) result.best_val_loss = loop.best_val_loss;
  if (!result.interrupted) {
    result.output = config.output_dir + "/" + output_name(state);
    write_outputs(loaded, state, result.output, base);
    say(fmt::format("wrote {}", result.output));
  }
  return result;
}

}  // namespace whet
