#include "train/trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <optional>
#include <span>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/resource_usage.h"
#include "data/dataset.h"
#include "data/preference_dataset.h"
#include "data/shuffle.h"
#include "eval/evaluate.h"
#include "train/classification_data.h"
#include "io/json_fields.h"
#include "models/llama_export.h"
#include "models/memory_estimate.h"
#include "models/lora_peft.h"
#include "train/auto_settings.h"
#include "train/checkpoint.h"
#include "train/fisher.h"
#include "train/gradient_sync.h"
#include "train/learner.h"
#include "train/kto_step.h"
#include "train/grpo_step.h"
#include "train/preference_step.h"
#include "train/reference_cache.h"
#include "train/remaining_time.h"
#include "train/replay.h"
#include "train/reward_step.h"
#include "train/run_record.h"
#include "train/train_step.h"

namespace whet {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

DataOptions data_options(const TrainConfig& c) {
  DataOptions d;
  d.format = c.data_format;
  d.train_on_inputs = c.train_on_inputs;
  d.sequence_len = c.sequence_len;
  d.sample_packing = c.sample_packing.value_or(false);  // decided before packing; reading ignores it
  d.drop_long = c.drop_long;
  d.strict = c.strict;
  d.seed = uint64_t(c.seed);
  d.val_set_size = c.val_set_size;
  return d;
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
// The adapter being trained, for the model to apply while scoring; the trainer keeps owning it.
std::shared_ptr<const LlamaLora> borrowed_adapter(const TrainableState& state) {
  return state.lora ? std::shared_ptr<const LlamaLora>(state.lora.get(), [](const LlamaLora*) {}) : nullptr;
}

std::vector<Metric> score_task(LoadedModel& loaded, const TrainableState& state, const Task& task) {
  loaded.adapter = borrowed_adapter(state);
  EvalOptions options;
  if (state.classifier) options.classifier = &state.classifier->head;
  options.resamples = 100;  // intervals are not shown during training
  const TaskResult result = evaluate_task(loaded, "training", task, options);
  loaded.adapter.reset();
  return result.metrics;
}

// Writes the trained result: a PEFT adapter, or the model as an HF directory and GGUF.
// What a run writes: a classification head, if any, beside the adapter, or
// beside the model when base weights trained (a head on a frozen base is written alone).
void write_outputs(LoadedModel& loaded, TrainableState& state, const std::string& dir, const std::string& base) {
  if (state.classifier) save_sequence_classifier(state.classifier->head, dir);
  if (state.lora) {
    save_peft_adapter(*state.lora, loaded.model.config, dir, base);
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
        if (!std::isnan(r.val_perplexity)) j["val_perplexity"] = r.val_perplexity;
      }
      for (const auto& [name, value] : r.eval_metrics) j["eval_" + name] = value;
    } else {
      j.update({{"loss", r.loss}, {"lr", r.lr}, {"grad_norm", r.grad_norm}, {"tokens_per_s", r.tokens_per_s},
                {"examples_per_s", r.examples_per_s}, {"elapsed_s", r.elapsed_s}});
      if (!std::isnan(r.replay_loss)) j["replay_loss"] = r.replay_loss;
      if (!std::isnan(r.distill_loss)) j["distill_loss"] = r.distill_loss;
      for (const auto& [name, value] : r.values) j[name] = value;
    }
    out_ << j.dump() << '\n';
    out_.flush();
  }

 private:
  std::ofstream out_;
};

using Say = std::function<void(const std::string&)>;

// How evaluations rank: by validation loss, or by a metric of eval_task.
struct Ranking {
  bool scores_task = false;        // eval_task is set: every rank knows, rank 0 alone scores it
  std::optional<Task> eval_task;  // read by rank 0 alone (only its machine needs the file)
  bool higher_is_better = false;  // of metric_for_best_model
};

// Reads eval_task and checks metric_for_best_model against it, before anything
// is loaded or written; data-parallel, on rank 0, whose verdict the others hear.
Ranking read_ranking(const TrainConfig& config, dist::Communicator& world) {
  Ranking r;
  r.scores_task = !config.eval_task.empty();
  if (world.rank() == 0) {
    if (r.scores_task) r.eval_task = read_task(config.eval_task);
    if (config.metric_for_best_model != "val_loss")
      r.higher_is_better = metric_direction(*r.eval_task, config.metric_for_best_model);
  }
  dist::broadcast_object(world, r.higher_is_better, 0);
  return r;
}

// eval_steps or early stopping asked for, with nothing to evaluate on: the run
// would silently evaluate nothing and keep no best outputs, so it says so.
void warn_if_nothing_to_evaluate(const TrainConfig& config, bool has_validation, const std::string& why,
                                 const Say& say) {
  const bool asked = config.eval_steps > 0 || config.early_stopping_patience > 0;
  if (!asked || has_validation || !config.eval_task.empty()) return;
  say(fmt::format("WARNING: {} set, but {} and no eval_task: nothing will be evaluated and no best outputs kept. "
                  "Give val_data FILE, val_set_size (e.g. 0.1) or eval_task FILE.",
                  config.eval_steps > 0 ? fmt::format("eval_steps {}", config.eval_steps)
                                        : fmt::format("early_stopping_patience {}", config.early_stopping_patience),
                  why));
}

// The model and the data a run trains on; with task_type seq_cls, also the
// classification head it trains (owned here, so rebuilding the learner keeps it).
struct RunInputs {
  std::string base;  // the model's path
  LoadedModel loaded;
  Dataset data;
  std::vector<TrainingSequence> replay;  // general data mixed in against forgetting (replay_data)
  std::optional<ClassifierTraining> classifier;
  // rl: the pairs the preference loss compares, and the same with their reference
  // log-probs, computed once the learner exists and before a checkpoint is loaded.
  std::vector<PreferenceSequences> pairs, validation_pairs;
  std::vector<ReferencedPair> referenced, referenced_validation;
  // rl kto: labelled answers instead of pairs, referenced the same way.
  std::vector<KtoSequences> kto, validation_kto;
  std::vector<ReferencedKto> referenced_kto, referenced_validation_kto;
  // rl reward: the pairs as the reward model scores them (its head in classifier).
  std::vector<RewardPair> reward_pairs, reward_validation;
  // grpo: the prompts sampled, and the grader of their completions (made once the model is in place).
  std::vector<PromptItem> prompts;
  std::unique_ptr<Grader> grader;
  ClassifierTraining* head() { return classifier ? &*classifier : nullptr; }
  // What an epoch walks: prompts for grpo, pairs or labelled answers for the other rl methods, sequences otherwise.
  size_t train_items() const {
    return !prompts.empty()        ? prompts.size()
           : !pairs.empty()        ? pairs.size()
           : !kto.empty()          ? kto.size()
           : !reward_pairs.empty() ? reward_pairs.size()
                                   : data.train.size();
  }
  bool has_validation() const {
    return !data.validation.empty() || !validation_pairs.empty() || !validation_kto.empty() ||
           !reward_validation.empty();
  }
};

// What the rules of auto_settings.h look at. A run ranks its evaluations when
// it has validation data or a task metric for metric_for_best_model.
DataShape data_shape(const TrainConfig& config, int64_t examples, int64_t tokens, bool has_validation_data) {
  return DataShape{examples, tokens, has_validation_data || config.metric_for_best_model != "val_loss"};
}

int64_t token_count(const std::vector<TokenizedExample>& examples) {
  int64_t tokens = 0;
  for (const TokenizedExample& e : examples) tokens += int64_t(e.ids.size());
  return tokens;
}

// Labelled examples for a classification head, and the head itself.
std::string load_labelled_data(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                               std::vector<AutoDecision>& decisions) {
  ClassificationData labelled = load_classification_data(config, in.loaded);
  int64_t tokens = 0;
  for (const TrainingSequence& s : labelled.train) tokens += int64_t(s.ids.size());
  decisions = resolve_auto_settings(
      config, data_shape(config, int64_t(labelled.train.size()), tokens, !labelled.validation.empty()),
      learning_rate_scale);
  in.data.train = std::move(labelled.train);
  in.data.validation = std::move(labelled.validation);
  in.classifier.emplace(make_sequence_classifier(std::move(labelled.labels), *pooling_from_name(config.pooling),
                                                 in.loaded.model.config.hidden_size, uint64_t(config.seed)));
  return std::move(labelled.summary);
}

ChatTemplate chat_template_of(const LoadedModel& loaded) {
  return loaded.chat_template ? *loaded.chat_template : ChatTemplate::by_name("alpaca");
}

// Demonstrations, packed once the rules have decided how, and replay data.
std::string load_language_data(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                               std::vector<AutoDecision>& decisions) {
  const ChatTemplate chat = chat_template_of(in.loaded);
  TokenizedDataset read =
      read_dataset(config.train_data, config.val_data, in.loaded.tokenizer, chat, data_options(config));
  decisions = resolve_auto_settings(
      config, data_shape(config, int64_t(read.train.size()), token_count(read.train), !read.validation.empty()),
      learning_rate_scale);
  in.data = pack_dataset(std::move(read), config.train_data, data_options(config));
  std::string summary = in.data.stats.summary();
  if (replays(config)) {
    ReplayData replay = load_replay_data(*config.replay_data, in.loaded.tokenizer, chat, data_options(config));
    summary += fmt::format("\n{}, {} per task sequence", replay.summary, config.replay_ratio);
    in.replay = std::move(replay.sequences);
  }
  return summary;
}

// Preference pairs for rl, each answer a sequence of its own.
std::string load_preference_pairs(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                                  std::vector<AutoDecision>& decisions) {
  PreferenceDataset read = load_preference_dataset(config.train_data, config.val_data, in.loaded.tokenizer,
                                                   chat_template_of(in.loaded), data_options(config));
  auto sequences = [](const std::vector<TokenizedPair>& pairs, int64_t* tokens) {
    std::vector<PreferenceSequences> out;
    for (const TokenizedPair& p : pairs) {
      out.push_back({p.chosen_sequence(), p.rejected_sequence()});
      if (tokens) *tokens += int64_t(p.prompt.size() + p.chosen.size() + p.rejected.size());
    }
    return out;
  };
  int64_t tokens = 0;
  in.pairs = sequences(read.train, &tokens);
  in.validation_pairs = sequences(read.validation, nullptr);
  decisions = resolve_auto_settings(
      config, data_shape(config, int64_t(in.pairs.size()), tokens, !in.validation_pairs.empty()), learning_rate_scale);
  return read.stats.summary();
}

// Answers labelled desirable or not for kto (a pair gives one of each).
std::string load_kto_examples(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                              std::vector<AutoDecision>& decisions) {
  UnpairedDataset read = load_unpaired_dataset(config.train_data, config.val_data, in.loaded.tokenizer,
                                               chat_template_of(in.loaded), data_options(config));
  const int32_t bos = in.loaded.tokenizer.spec().bos_id;
  in.kto = kto_sequences(read.train, config.sequence_len, bos);
  in.validation_kto = kto_sequences(read.validation, config.sequence_len, bos);
  int64_t tokens = 0;
  for (const KtoSequences& e : in.kto) tokens += int64_t(e.answer.ids.size());
  decisions = resolve_auto_settings(
      config, data_shape(config, int64_t(in.kto.size()), tokens, !in.validation_kto.empty()), learning_rate_scale);
  return read.stats.summary();
}

// rl reward: the pairs, each answer whole after its prompt, and a new one-output head.
std::string load_reward_pairs(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                              std::vector<AutoDecision>& decisions) {
  PreferenceDataset read = load_preference_dataset(config.train_data, config.val_data, in.loaded.tokenizer,
                                                   chat_template_of(in.loaded), data_options(config));
  int64_t tokens = 0;
  for (const TokenizedPair& p : read.train) {
    in.reward_pairs.push_back(reward_pair(p));
    tokens += int64_t(2 * p.prompt.size() + p.chosen.size() + p.rejected.size());
  }
  for (const TokenizedPair& p : read.validation) in.reward_validation.push_back(reward_pair(p));
  decisions = resolve_auto_settings(
      config, data_shape(config, int64_t(in.reward_pairs.size()), tokens, !in.reward_validation.empty()),
      learning_rate_scale);
  in.classifier.emplace(make_sequence_classifier({kRewardLabel}, *pooling_from_name(config.pooling),
                                                 in.loaded.model.config.hidden_size, uint64_t(config.seed)));
  return read.stats.summary();
}

// grpo: the prompts, each with the fields its grader reads.
std::string load_rl_prompts(TrainConfig& config, RunInputs& in, double learning_rate_scale,
                            std::vector<AutoDecision>& decisions) {
  std::string summary;
  for (const std::string& path : config.train_data) {
    PromptDataset read = load_prompt_dataset(path, in.loaded.tokenizer, chat_template_of(in.loaded),
                                             config.sequence_len, config.max_completion_length, config.strict);
    summary += (summary.empty() ? "" : "\n") + read.summary(path);
    std::move(read.prompts.begin(), read.prompts.end(), std::back_inserter(in.prompts));
  }
  int64_t tokens = 0;
  for (const PromptItem& p : in.prompts) tokens += int64_t(p.prompt.size());
  decisions = resolve_auto_settings(config, data_shape(config, int64_t(in.prompts.size()), tokens, false),
                                    learning_rate_scale);
  return summary;
}

// grpo: the grader, from the config's object or file; a file's relative paths
// (a head, a command's folder) are taken from the file's folder.
std::unique_ptr<Grader> load_run_grader(const TrainConfig& config, const LoadedModel& model, const Say& say) {
  GraderContext context{&model, "."};
  if (config.grader.is_string()) {
    const std::string path = config.grader.get<std::string>();
    context.folder = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
    say(fmt::format("grader: {}", path));
    return make_grader(read_grader_file(path), path, context);
  }
  return make_grader(config.grader, "train config: grader", context);
}

// Loads the model and the data, deciding the keys left auto once the data is
// read (and before it is packed, which they decide). The decisions are the
// run's first lines.
RunInputs load_model_and_data(TrainConfig& config, const Say& say, double learning_rate_scale,
                              std::vector<AutoDecision>& decisions) {
  const std::string base = config.base_model.empty() ? default_model_path() : config.base_model;
  const bool trains_base = config.method != TrainMethod::Lora;
  const std::vector<AutoDecision> weight_decisions = resolve_weight_settings(config);
  const WeightFormat format = trains_base ? WeightFormat::F32 : *weight_format_from_name(config.weights);
  RunInputs in{base, load_model(base, format), {}, {}, std::nullopt};
  if (trains_base) own_trainable_weights(in.loaded);
  const std::string summary = samples_online(config)        ? load_rl_prompts(config, in, learning_rate_scale, decisions)
                              : config.rl == "kto"            ? load_kto_examples(config, in, learning_rate_scale, decisions)
                              : trains_reward_model(config)   ? load_reward_pairs(config, in, learning_rate_scale, decisions)
                              : aligns(config)                ? load_preference_pairs(config, in, learning_rate_scale, decisions)
                              : config.task_type == "seq_cls" ? load_labelled_data(config, in, learning_rate_scale, decisions)
                                                            : load_language_data(config, in, learning_rate_scale, decisions);
  const Weight& head = in.loaded.model.weights.lm_head;
  // A base that trains multiplied as bf16 holds that copy beside its f32 masters:
  // half their size again. A packed frozen base holds its matrices twice.
  const int64_t weights = weight_bytes(in.loaded.model);
  const int64_t held = multiplies_bf16_copy(config) ? weights * 3 / 2 : packs_frozen_base(config) ? weights * 2 : weights;
  const MemoryShape memory{&in.loaded.model.config, held, head.dtype != DType::F32 && head.dtype != DType::BF16,
                           available_memory_bytes()};
  decisions.insert(decisions.begin(), weight_decisions.begin(), weight_decisions.end());
  for (AutoDecision& d : resolve_memory_settings(config, memory)) decisions.push_back(std::move(d));
  WHET_ASSERT(auto_keys(config).empty());
  for (const std::string& line : describe_decisions(decisions)) say(line);
  const LlamaConfig& mc = in.loaded.model.config;
  // A model with learned positions (GPT-2) has none past its last: refused now, not at the first long row.
  if (mc.learned_positions && config.sequence_len > mc.max_position_embeddings)
    fail("train", "sequence_len {} exceeds the {} positions of the model's position embedding; set it to at most {}",
         config.sequence_len, mc.max_position_embeddings, mc.max_position_embeddings);
  say(fmt::format("model {} ({} layers, weights {})", base, mc.num_layers,
                  !trains_base                ? config.weights
                  : multiplies_bf16_copy(config) ? "f32 masters, multiplied as a bf16 copy"
                                              : "f32"));
  say(summary);
  return in;
}

// The two answers of each item whose reference log-probs a preference run needs.
std::vector<ItemAnswers> answers_of(const std::vector<PreferenceSequences>& pairs) {
  std::vector<ItemAnswers> out;
  for (const PreferenceSequences& p : pairs) out.push_back({&p.chosen, &p.rejected});
  return out;
}
std::vector<ItemAnswers> answers_of(const std::vector<KtoSequences>& examples) {
  std::vector<ItemAnswers> out;
  for (const KtoSequences& e : examples) out.push_back({&e.answer, &e.mismatched});
  return out;
}
ItemReferences numbers_of(const ReferencedPair& p) { return {p.ref_chosen, p.ref_rejected}; }
ItemReferences numbers_of(const ReferencedKto& e) { return {e.ref, e.ref_mismatched}; }
ReferencedPair with_numbers(const PreferenceSequences& p, const ItemReferences& r) { return {&p, r[0], r[1]}; }
ReferencedKto with_numbers(const KtoSequences& e, const ItemReferences& r) { return {&e, r[0], r[1]}; }

// The reference's log-probs of `items`' answers (compute's), each rank computing its share.
template <typename Item, typename Compute>
std::vector<ItemReferences> computed_references(const LlamaModel& model, LlamaActivations& acts,
                                                const std::vector<Item>& items, const Compute& compute,
                                                dist::Communicator& world) {
  std::vector<double> mine;
  for (const auto& r : compute(model, acts, rank_share(std::span(items), &world))) {
    const ItemReferences numbers = numbers_of(r);
    mine.insert(mine.end(), numbers.begin(), numbers.end());
  }
  const std::vector<double> all = gathered_over_ranks(mine, items.size(), &world, 2);
  std::vector<ItemReferences> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) out[i] = {all[2 * i], all[2 * i + 1]};
  return out;
}

// rl: the reference's log-probs of every answer, from the base (the adapter off,
// or the weights before a checkpoint is loaded into them), so that no second
// model is kept: read from the run folder's cache when it holds them for these
// weights and sequences, otherwise computed once and cached. Data-parallel,
// rank 0 reads and writes the cache (only its machine needs the run folder) and
// shares what it read; what is computed, each rank computes its share of.
template <typename Items, typename Referenced, typename Compute>
void reference_items(const LlamaModel& model, const TrainConfig& config, const Items& train, const Items& validation,
                     std::vector<Referenced>& referenced, std::vector<Referenced>& referenced_validation,
                     const Compute& compute, dist::Communicator& world, const Say& say) {
  const std::string path = config.output_dir + "/reference_logps.json";
  const ReferenceKey key = reference_key(model, answers_of(train), answers_of(validation));
  std::optional<CachedReferences> numbers;
  if (world.rank() == 0) numbers = read_reference_cache(path, key, train.size(), validation.size());
  bool cached = numbers.has_value();
  dist::broadcast_object(world, cached, 0);
  if (cached) {
    if (world.rank() != 0) numbers.emplace(CachedReferences{std::vector<ItemReferences>(train.size()),
                                                            std::vector<ItemReferences>(validation.size())});
    world.broadcast(std::as_writable_bytes(std::span(numbers->train)), 0);
    world.broadcast(std::as_writable_bytes(std::span(numbers->validation)), 0);
    say(fmt::format("reference: read from {} (the same weights and sequences)", path));
  } else {
    LlamaActivations acts(model.config, config.sequence_len, 0);
    numbers.emplace(CachedReferences{computed_references(model, acts, train, compute, world),
                                     computed_references(model, acts, validation, compute, world)});
    if (world.rank() == 0) write_reference_cache(path, key, *numbers);
  }
  for (size_t i = 0; i < train.size(); ++i) referenced.push_back(with_numbers(train[i], numbers->train[i]));
  for (size_t i = 0; i < validation.size(); ++i)
    referenced_validation.push_back(with_numbers(validation[i], numbers->validation[i]));
}

void reference_pairs(RunInputs& in, const TrainConfig& config, dist::Communicator& world, const Say& say) {
  if (config.rl == "kto") {
    say(fmt::format("reference: log-probabilities of {} training and {} validation answers, each with another "
                    "example's answer for KTO's reference point, under the base", in.kto.size(),
                    in.validation_kto.size()));
    reference_items(in.loaded.model, config, in.kto, in.validation_kto, in.referenced_kto,
                    in.referenced_validation_kto,
                    [](const LlamaModel& m, LlamaActivations& a, std::span<const KtoSequences> items) {
                      return kto_reference_logps(m, a, items);
                    }, world, say);
    return;
  }
  say(fmt::format("reference: log-probabilities of {} training and {} validation pairs under the base",
                  in.pairs.size(), in.validation_pairs.size()));
  reference_items(in.loaded.model, config, in.pairs, in.validation_pairs, in.referenced, in.referenced_validation,
                  [](const LlamaModel& m, LlamaActivations& a, std::span<const PreferenceSequences> items) {
                    return reference_logps(m, a, items);
                  }, world, say);
}

// How many steps the run takes, of how many sequences, and with what learning rate.
struct Schedule {
  int64_t per_step = 0;  // sequences per optimiser step: micro-batches times accumulation
  int64_t steps_per_epoch = 0;
  StepSettings step;     // total_steps among them
};

// Data-parallel, micro_batch_size is per rank: a step takes ranks × micro_batch_size × accumulation sequences.
Schedule plan_schedule(const TrainConfig& config, size_t train_sequences, int ranks) {
  Schedule s;
  s.per_step = int64_t(ranks) * config.micro_batch_size * config.gradient_accumulation_steps;
  s.steps_per_epoch = std::max<int64_t>(1, (int64_t(train_sequences) + s.per_step - 1) / s.per_step);
  s.step = step_settings(config, config.max_steps > 0 ? config.max_steps : s.steps_per_epoch * config.num_epochs);
  return s;
}

// What learns and where the loop stands.
struct Progress {
  int first_block;  // the first block that trains (freeze runs; 0 otherwise)
  Learner learner;
  LoopState loop;
};

// EWC's Fisher and anchors, L2-SP's anchors: taken while the learner holds the
// starting values, before a checkpoint is loaded into it (or read back from the run folder on resume).
// Every rank takes rank 0's EWC anchors and Fisher, one pair of tensors per parameter.
void share_ewc(dist::Communicator& world, AnchorPenalty& ewc, const std::vector<Parameter>& parameters, double lambda) {
  ewc.lambda = lambda;
  for (const Parameter& p : parameters) {
    Anchor& anchor = ewc.anchors[p.name];
    anchor.value.resize(size_t(p.numel));
    anchor.fisher.resize(size_t(p.numel));
    world.broadcast(std::as_writable_bytes(std::span(anchor.value)), 0);
    world.broadcast(std::as_writable_bytes(std::span(anchor.fisher)), 0);
  }
}

// Data-parallel, rank 0 alone estimates EWC's Fisher (or reads it on resume)
// and writes ewc.safetensors; the other ranks take its numbers.
void set_penalties(const TrainConfig& config, const RunInputs& in, Learner& learner, bool resume,
                   dist::Communicator& world, const Say& say) {
  if (world.rank() == 0) learner.penalties.ewc = ewc_penalty_for_run(config, in.loaded, learner.trainable, resume, say);
  if (world.size() > 1 && config.ewc_lambda > 0)
    share_ewc(world, learner.penalties.ewc, learner.trainable.parameters, config.ewc_lambda);
  learner.penalties.l2sp.lambda = config.l2sp_lambda;
  anchor_new_parameters(learner.penalties.l2sp, learner.trainable.parameters);
}

Progress start(const TrainConfig& config, RunInputs& in, dist::Communicator& world, const Say& say) {
  const int first_block = initial_first_trainable_block(config, in.loaded.model.config);
  Progress p{first_block, make_learner(in.loaded, config, first_block, in.head()), LoopState{}};
  set_penalties(config, in, p.learner, false, world, say);
  return p;
}

// Where a resumed run stands: rank 0 reads its newest checkpoint in output_dir
// and tells every rank (the others may run on machines whose disks hold no run folder).
struct ResumePoint {
  std::string checkpoint;  // rank 0's folder; empty on the other ranks
  int64_t step = 0, epoch = 0;
};

ResumePoint find_resume_point(const TrainConfig& config, dist::Communicator& world) {
  ResumePoint point;
  std::array<int64_t, 2> position{0, 0};
  if (world.rank() == 0) {
    point.checkpoint = latest_checkpoint(config.output_dir);
    if (point.checkpoint.empty()) fail(config.output_dir, "--resume: no checkpoint in {}/checkpoints", config.output_dir);
    const nlohmann::json saved = read_json_object(point.checkpoint + "/trainer_state.json");
    position = {saved.value("step", int64_t(0)), saved.value("epoch", int64_t(0))};
  }
  world.broadcast(std::as_writable_bytes(std::span(position)), 0);
  point.step = position[0];
  point.epoch = position[1];
  return point;
}

// What learns when a run continues: gradual unfreezing may have released blocks
// since the start, so the learner is built as it stood then. The checkpoint's
// values are loaded by load_progress, once the gate has seen the base.
Progress resume(const TrainConfig& config, RunInputs& in, const ResumePoint& point, dist::Communicator& world,
                const Say& say) {
  const int first_block = first_trainable_block_at(config, in.loaded.model.config, point.step, point.epoch);
  Progress p{first_block, make_learner(in.loaded, config, first_block, in.head()), LoopState{}};
  set_penalties(config, in, p.learner, true, world, say);
  return p;
}

// Every rank gets rank 0's optimiser state (its moments and step count), in place.
void share_optimizer_state(dist::Communicator& world, Optimizer& optimizer) {
  const Optimizer::MutableState state = optimizer.mutable_state();
  for (std::span<float> tensor : state.tensors) world.broadcast(std::as_writable_bytes(tensor), 0);
  dist::broadcast_object(world, *state.step_count, 0);
}

// Rank 0 loads the checkpoint; every rank continues from its optimiser state and
// loop position (start_alike then gives them its values).
void load_progress(const ResumePoint& point, dist::Communicator& world, Progress& p, const Say& say) {
  if (world.rank() == 0) p.loop = load_checkpoint(point.checkpoint, p.learner.trainable.parameters, p.learner.optimizer);
  if (world.size() > 1) {
    share_optimizer_state(world, p.learner.optimizer);
    dist::broadcast_object(world, p.loop, 0);
  }
  say(fmt::format("resumed from {} at step {}", point.checkpoint, p.loop.step));
}

std::string describe(const TrainableState& trainable, const Schedule& schedule) {
  size_t values = 0;
  for (const Parameter& p : trainable.parameters) values += size_t(p.numel);
  return fmt::format("{} trainable values in {} tensors; {} steps ({} per epoch), {} sequences per step", values,
                     trainable.parameters.size(), schedule.step.total_steps, schedule.steps_per_epoch,
                     schedule.per_step);
}

// The loop over steps and what is due after each: evaluation, the next epoch,
// a checkpoint, early stopping; then the run's outputs.
class TrainingLoop {
 public:
  TrainingLoop(const TrainConfig& config, const TrainRunOptions& options, dist::Communicator& world, const Say& say,
               const Ranking& ranking, RunInputs& in, const Schedule& schedule, Progress& progress)
      : config_(config), options_(options), world_(world), say_(say), ranking_(ranking), in_(in), schedule_(schedule),
        progress_(progress), loop_(progress.loop),
        // A reward model scores an answer with its end marker: a token past the log-prob's sequence_len.
        acts_(in.loaded.model.config, config.sequence_len + (trains_reward_model(config) ? 1 : 0),
              progress.learner.trainable.lora ? progress.learner.trainable.lora->config.rank : 0,
              config.gradient_checkpointing),
        metrics_(world.rank() == 0 ? std::optional<MetricsLog>(std::in_place, config.output_dir + "/metrics.jsonl",
                                                               options.resume ? loop_.step : -1)
                                   : std::nullopt),
        replay_(in.replay.size(), config.replay_ratio, schedule.per_step, uint64_t(config.seed)),
        objective_(aligns(config) && !trains_reward_model(config) && !samples_online(config)
                       ? std::optional(preference_objective(config))
                       : std::nullopt),
        grpo_(samples_online(config) ? std::optional(grpo_objective(config)) : std::nullopt),
        order_(epoch_order(in.train_items(), uint64_t(config.seed), loop_.epoch)) {
    result_.first_val_loss = result_.best_val_loss = std::numeric_limits<double>::quiet_NaN();
  }

  TrainRunResult run() {
    if (!options_.resume && has_validation()) evaluate();  // the base model's validation loss, the number to beat
    const auto start = Clock::now();
    while (loop_.step < schedule_.step.total_steps) {
      if (stop_requested()) {
        checkpoint();
        result_.interrupted = true;
        say_(fmt::format("interrupted: checkpoint at step {}; continue with --resume", loop_.step));
        break;
      }
      unfreeze_if_due();
      step(start);
      if (reached_reward_target()) break;
      const bool epoch_done = loop_.epoch_position >= int64_t(order_.size());
      const bool stop_early = due(config_.eval_steps, epoch_done) && evaluate();
      if (epoch_done) next_epoch();
      if (due(config_.save_steps, epoch_done)) checkpoint();
      if (stop_early) {
        result_.stopped_early = true;
        say_(fmt::format("early stopping at step {}: no improvement of {} in {} evaluations (best {:.4f} at step {})",
                         loop_.step, config_.metric_for_best_model, loop_.evals_without_improvement,
                         ranking_.higher_is_better ? -loop_.best_score : loop_.best_score, loop_.best_step));
        break;
      }
    }
    return finish();
  }

 private:
  bool has_validation() const { return in_.has_validation(); }
  TrainableState& trainable() { return progress_.learner.trainable; }
  bool writes() const { return world_.rank() == 0; }  // rank 0 alone writes the run folder

  // A stop request (options_.stop: Ctrl-C, or SIGUSR1 under mpirun), agreed by every
  // rank before a step, so that all stop at the same one (a signal reaches the ranks at different moments).
  bool stop_requested() {
    std::array<double, 1> asked{options_.stop && options_.stop->load() ? 1.0 : 0.0};
    world_.allreduce_sum(asked);
    return asked[0] > 0;
  }

  // Data-parallel: the gradient buckets of what trains now (rebuilt when gradual unfreezing changes it).
  DataParallel data_parallel() {
    if (world_.size() == 1) return {};
    if (!sync_ || !sync_->plans(trainable().parameters))
      sync_ = std::make_unique<GradientSync>(world_, trainable().parameters);
    return {&world_, sync_.get()};
  }

  // Every `every` steps, or at the end of each epoch when `every` is 0.
  bool due(int every, bool epoch_done) const {
    return every > 0 ? loop_.step % every == 0 : epoch_done;
  }

  // Gradual unfreezing released a block: what trains is rebuilt with it.
  void unfreeze_if_due() {
    const int wanted = first_trainable_block_at(config_, in_.loaded.model.config, loop_.step, loop_.epoch);
    if (wanted == progress_.first_block) return;
    progress_.first_block = wanted;
    Learner next = make_learner(in_.loaded, config_, wanted, in_.head());
    carry_optimizer_state(progress_.learner.optimizer, next.optimizer);
    // The released blocks have not trained yet: their values now are L2-SP's anchors.
    next.penalties = std::move(progress_.learner.penalties);
    anchor_new_parameters(next.penalties.l2sp, next.trainable.parameters);
    progress_.learner = std::move(next);
    say_(fmt::format("step {}: blocks {}..{} now train", loop_.step, wanted, in_.loaded.model.config.num_layers - 1));
  }

  // The indices of the next per_step items (sequences, or pairs) of the epoch.
  std::vector<size_t> next_items() {
    std::vector<size_t> items;
    while (int64_t(items.size()) < schedule_.per_step && loop_.epoch_position < int64_t(order_.size()))
      items.push_back(order_[loop_.epoch_position++]);
    return items;
  }

  // Supervised: the batch's sequences and this step's replay.
  StepResult supervised_step(const std::vector<size_t>& items) {
    std::vector<const TrainingSequence*> batch, replay;
    for (size_t i : items) batch.push_back(&in_.data.train[i]);
    for (size_t i : replay_.for_step(loop_.step)) replay.push_back(&in_.replay[i]);
    return train_step(in_.loaded, progress_.learner, acts_, batch, schedule_.step, loop_.step, replay,
                      data_parallel());
  }

  // rl: the batch's pairs, with what TRL logs beside the loss.
  StepResult preference_pairs_step(const std::vector<size_t>& items, std::vector<std::pair<std::string, double>>& logged) {
    std::vector<ReferencedPair> batch;
    double reference_chosen = 0;
    for (size_t i : items) {
      batch.push_back(in_.referenced[i]);
      reference_chosen += in_.referenced[i].ref_chosen / double(items.size());
    }
    const PreferenceStepResult r =
        preference_step(in_.loaded, progress_.learner, acts_, batch, schedule_.step, *objective_, loop_.step,
                        data_parallel());
    logged = preference_values(r.metrics);
    warn_if_chosen_falls(reference_chosen - r.metrics.logp_chosen);
    return r.step;
  }

  // grpo with reward_target: the last steps' rollouts score well enough to stop (said, and the output written).
  bool reached_reward_target() {
    if (config_.reward_target <= 0 || recent_rewards_.size() < size_t(kRewardTargetSteps)) return false;
    double mean = 0;
    for (double r : recent_rewards_) mean += r / double(recent_rewards_.size());
    bool reached = mean >= config_.reward_target;
    // Rank 0's decision, so that every rank stops at the same step.
    if (world_.size() > 1) dist::broadcast_object(world_, reached, 0);
    if (!reached) return false;
    result_.stopped_early = true;
    say_(fmt::format("step {}: the mean reward of the last {} steps is {:.3f}, at least reward_target {}: stopping",
                     loop_.step, kRewardTargetSteps, mean, config_.reward_target));
    return true;
  }

  // rl kto: the batch's labelled answers.
  StepResult kto_examples_step(const std::vector<size_t>& items, std::vector<std::pair<std::string, double>>& logged) {
    std::vector<ReferencedKto> batch;
    for (size_t i : items) batch.push_back(in_.referenced_kto[i]);
    const KtoStepResult r =
        kto_step(in_.loaded, progress_.learner, acts_, batch, schedule_.step, objective_->settings, loop_.step,
                 data_parallel());
    logged = r.metrics.logged();
    return r.step;
  }

  // rl reward: the batch's pairs, with TRL's reward logs.
  StepResult reward_pairs_step(const std::vector<size_t>& items, std::vector<std::pair<std::string, double>>& logged) {
    std::vector<const RewardPair*> batch;
    for (size_t i : items) batch.push_back(&in_.reward_pairs[i]);
    const PreferenceStepResult r =
        reward_step(in_.loaded, progress_.learner, acts_, batch, schedule_.step, reward_objective(), loop_.step,
                    data_parallel());
    logged = reward_values(r.metrics);
    return r.step;
  }

  RewardObjective reward_objective() const { return {config_.reward_center_coefficient}; }

  static std::vector<std::pair<std::string, double>> reward_values(const PreferenceMetrics& m) {
    return {{"rewards_chosen", m.reward_chosen}, {"rewards_rejected", m.reward_rejected},
            {"rewards_margin", m.margin}, {"rewards_accuracy", m.accuracy}};
  }

  // grpo: the batch's prompts sampled, graded and learnt from, with what TRL logs.
  StepResult grpo_prompts_step(const std::vector<size_t>& items, std::vector<std::pair<std::string, double>>& logged) {
    std::vector<const PromptItem*> prompts;
    for (size_t i : items) prompts.push_back(&in_.prompts[i]);
    const GrpoStepResult r = grpo_step(in_.loaded, progress_.learner, acts_, prompts, *in_.grader, schedule_.step,
                                       *grpo_, loop_.step, data_parallel());
    const GrpoMetrics& m = r.metrics;
    recent_rewards_.push_back(m.reward_mean);
    if (recent_rewards_.size() > size_t(kRewardTargetSteps)) recent_rewards_.pop_front();
    logged = {{"reward", m.reward_mean},         {"reward_std", m.reward_std},
              {"frac_reward_zero_std", m.zero_std_fraction}, {"clip_ratio", m.clip_fraction},
              {"completion_length", m.completion_length},    {"completions_ended", m.ended_fraction}};
    if (grpo_->loss.beta > 0) logged.emplace_back("kl", m.kl);
    if (m.grader_warnings > 0) logged.emplace_back("grader_warnings", double(m.grader_warnings));
    for (size_t i = 0; i < r.warnings.size() && warnings_said_ < 5; ++i, ++warnings_said_)
      say_(fmt::format("WARNING: step {}: grader: {}", loop_.step + 1, r.warnings[i]));
    return r.step;
  }

  static std::vector<std::pair<std::string, double>> preference_values(const PreferenceMetrics& m) {
    return {{"rewards_chosen", m.reward_chosen}, {"rewards_rejected", m.reward_rejected},
            {"rewards_margin", m.margin},        {"rewards_accuracy", m.accuracy},
            {"logps_chosen", m.logp_chosen},     {"logps_rejected", m.logp_rejected}};
  }

  // Both answers' log-probs falling, the chosen too, is DPO's known failure: the
  // margin grows while the preferred answers become less likely. Said once.
  void warn_if_chosen_falls(double drop) {
    if (warned_chosen_drop_ || config_.chosen_logp_drop_warning <= 0 || drop <= config_.chosen_logp_drop_warning) return;
    warned_chosen_drop_ = true;
    say_(fmt::format("WARNING: step {}: the chosen answers' log-probability is {:.2f} nats below the reference's "
                     "(chosen_logp_drop_warning {}): the policy is making preferred answers less likely too; "
                     "a lower learning rate or a larger rl_beta keeps it closer", loop_.step + 1, drop,
                     config_.chosen_logp_drop_warning));
  }

  // One optimiser step over the next per_step items of the epoch, logged.
  // The time left counts the whole time since the last step ended (evaluations
  // and checkpoints too), so that it comes true.
  void step(Clock::time_point run_start) {
    const std::vector<size_t> items = next_items();
    std::vector<std::pair<std::string, double>> logged;
    const auto step_start = Clock::now();
    const StepResult s = grpo_                          ? grpo_prompts_step(items, logged)
                         : trains_reward_model(config_) ? reward_pairs_step(items, logged)
                         : !objective_                  ? supervised_step(items)
                         : config_.rl == "kto"          ? kto_examples_step(items, logged)
                                                        : preference_pairs_step(items, logged);
    if (!s.updated) say_(fmt::format("step {}: non-finite gradient norm, update skipped", loop_.step));
    ++loop_.step;
    const auto now = Clock::now();
    const double step_seconds = std::chrono::duration<double>(now - step_start).count();
    remaining_.add_step(loop_.epoch, std::chrono::duration<double>(now - std::max(run_start, last_step_end_)).count());
    last_step_end_ = now;
    StepReport r{loop_.step, schedule_.step.total_steps, loop_.epoch, s.loss, s.lr, s.grad_norm,
                 double(s.tokens) / step_seconds, std::chrono::duration<double>(now - run_start).count()};
    r.examples_per_s = double(items.size()) / step_seconds;
    r.eta_s = remaining_.seconds_for(steps_to_estimate());
    r.values = penalties_of(s);
    if (world_.size() > 1) {
      r.values.emplace_back("allreduce_wait_s", s.sync.waited_s);
      r.values.emplace_back("allreduce_exposed_s", s.sync.exposed_s);
    }
    r.values.insert(r.values.end(), logged.begin(), logged.end());
    r.replay_loss = s.replay_loss;
    r.distill_loss = s.distill_loss;
    report(r);
    result_.final_train_loss = r.loss;
  }

  // The steps left whose time is estimated from the steps so far. A head on a
  // frozen base reuses its cached features after the first epoch, where a step
  // takes next to nothing: until a later epoch has been measured, only the rest
  // of this epoch counts.
  int64_t steps_to_estimate() const {
    const int64_t left = schedule_.step.total_steps - loop_.step;
    if (!caches_classifier_features(progress_.learner.trainable) || remaining_.measured_a_later_epoch()) return left;
    const int64_t in_epoch = (int64_t(order_.size()) - loop_.epoch_position + schedule_.per_step - 1) / schedule_.per_step;
    return std::min(left, in_epoch);
  }

  std::vector<std::pair<std::string, double>> penalties_of(const StepResult& s) const {
    std::vector<std::pair<std::string, double>> out;
    if (config_.ewc_lambda > 0) out.emplace_back("ewc_penalty", s.ewc_penalty);
    if (config_.l2sp_lambda > 0) out.emplace_back("l2sp_penalty", s.l2sp_penalty);
    return out;
  }

  void next_epoch() {
    ++loop_.epoch;
    loop_.epoch_position = 0;
    order_ = epoch_order(in_.train_items(), uint64_t(config_.seed), loop_.epoch);
  }

  // Validation loss and eval_task's metrics, logged; outputs that beat the best so
  // far go to output_dir/best. Returns true when early stopping says to stop.
  bool evaluate() {
    if (!has_validation() && !ranking_.scores_task) return false;
    StepReport r{loop_.step, schedule_.step.total_steps, loop_.epoch};
    r.is_eval = true;
    double score = measure(r);
    agree_with_rank0(r.val_loss, score);
    report(r);
    if (has_validation()) {
      if (std::isnan(result_.first_val_loss)) result_.first_val_loss = r.val_loss;
      loop_.best_val_loss = std::min(loop_.best_val_loss, r.val_loss);
    }
    if (score < loop_.best_score - config_.early_stopping_min_delta) {
      loop_.best_score = score;
      loop_.best_step = loop_.step;
      loop_.evals_without_improvement = 0;
      if (writes()) write_outputs(in_.loaded, trainable(), best_dir(), in_.base);
    } else {
      ++loop_.evals_without_improvement;
    }
    return config_.early_stopping_patience > 0 && loop_.evals_without_improvement >= config_.early_stopping_patience;
  }

  // The evaluation's numbers into `r`; returns the score that ranks it, lower better.
  // Data-parallel, the ranks share the validation set; eval_task is rank 0's alone.
  double measure(StepReport& r) {
    dist::Communicator* world = world_.size() > 1 ? &world_ : nullptr;
    if (config_.rl == "kto" && has_validation()) {
      const KtoMetrics m =
          kto_eval(in_.loaded, trainable(), acts_, in_.referenced_validation_kto, objective_->settings, world);
      r.val_loss = m.loss;
      r.eval_metrics = m.logged();
    } else if (trains_reward_model(config_) && has_validation()) {
      const PreferenceMetrics m = reward_eval(in_.loaded.model, trainable().lora.get(), acts_,
                                              trainable().classifier->head, in_.reward_validation, reward_objective(),
                                              world);
      r.val_loss = m.loss;
      r.eval_metrics = reward_values(m);
    } else if (objective_ && has_validation()) {
      const PreferenceMetrics m =
          preference_eval(in_.loaded, trainable(), acts_, in_.referenced_validation, *objective_, world);
      r.val_loss = m.loss;
      r.eval_metrics = preference_values(m);
    } else if (has_validation()) {
      r.val_loss = mean_loss(in_.loaded, trainable(), acts_, in_.data.validation, world);
      r.val_perplexity = std::exp(r.val_loss);
    }
    double score = r.val_loss;
    if (ranking_.eval_task && writes()) {
      for (const Metric& m : score_task(in_.loaded, trainable(), *ranking_.eval_task)) {
        r.eval_metrics.emplace_back(m.name, m.value);
        if (m.name == config_.metric_for_best_model) score = ranking_.higher_is_better ? -m.value : m.value;
      }
    }
    return score;
  }

  // Data-parallel, every rank takes rank 0's numbers, so that all decide alike
  // whether the model improved and whether to stop (an allreduce need not give
  // every rank the same last bit).
  void agree_with_rank0(double& val_loss, double& score) {
    if (world_.size() == 1) return;
    std::array<double, 2> numbers{val_loss, score};
    world_.broadcast(std::as_writable_bytes(std::span(numbers)), 0);
    val_loss = numbers[0];
    score = numbers[1];
  }

  void checkpoint() {
    if (!writes()) return;
    const std::string dir = fmt::format("{}/checkpoints/step-{}", config_.output_dir, loop_.step);
    save_checkpoint(dir, trainable().parameters, progress_.learner.optimizer, loop_);
    prune_checkpoints(config_.output_dir, config_.save_total_limit);
    if (options_.on_checkpoint) options_.on_checkpoint(loop_.step, dir);
  }

  void report(const StepReport& r) {
    if (metrics_) metrics_->write(r);
    if (options_.on_report) options_.on_report(r);
  }

  // The adapter or model as trained, unless the run was interrupted (its checkpoint holds it).
  TrainRunResult finish() {
    result_.steps = loop_.step;
    if (has_validation()) result_.best_val_loss = loop_.best_val_loss;
    if (!result_.interrupted) {
      result_.output = config_.output_dir + "/" + output_name(trainable());
      if (!writes()) return result_;
      if (keeps_best()) {
        fs::remove_all(result_.output);
        fs::copy(best_dir(), result_.output, fs::copy_options::recursive);
        say_(fmt::format("wrote {}: the best evaluation's outputs, step {} of {} ({} {:.4f})", result_.output,
                         loop_.best_step, loop_.step, config_.metric_for_best_model,
                         ranking_.higher_is_better ? -loop_.best_score : loop_.best_score));
      } else {
        write_outputs(in_.loaded, trainable(), result_.output, in_.base);
        say_(fmt::format("wrote {}", result_.output));
      }
    }
    return result_;
  }

  std::string best_dir() const { return config_.output_dir + "/best"; }

  // With early stopping, the run's output is its best evaluation's (as Hugging
  // Face's load_best_model_at_end), not the last step's, which stopping let
  // run past the best by `patience` evaluations.
  bool keeps_best() const {
    return config_.early_stopping_patience > 0 && loop_.best_step >= 0 && loop_.best_step != loop_.step &&
           fs::exists(best_dir());
  }

  const TrainConfig& config_;
  const TrainRunOptions& options_;
  dist::Communicator& world_;
  const Say& say_;
  const Ranking& ranking_;
  RunInputs& in_;
  const Schedule& schedule_;
  Progress& progress_;
  LoopState& loop_;  // progress_.loop
  LlamaActivations acts_;
  std::optional<MetricsLog> metrics_;  // rank 0's
  std::unique_ptr<GradientSync> sync_;  // data-parallel runs
  ReplaySchedule replay_;      // which of in_.replay each step mixes in
  std::optional<PreferenceObjective> objective_;  // rl on pairs: the preference loss
  std::optional<GrpoObjective> grpo_;            // rl grpo: rollouts and the clipped loss
  bool warned_chosen_drop_ = false;
  std::deque<double> recent_rewards_;  // grpo: the latest steps' mean rollout rewards, for reward_target
  int warnings_said_ = 0;  // grader warnings shown (the first few; metrics.jsonl counts them all)
  std::vector<size_t> order_;  // of this epoch's items
  RemainingTime remaining_;
  Clock::time_point last_step_end_;  // none yet: the clock's zero, so the first step counts from the run's start
  TrainRunResult result_;
};

// The forgetting gate's view of the model before anything trains (a resumed
// run has not loaded its checkpoint yet, so this is still the base). A head on a
// frozen base leaves the language model as it was: there is nothing to judge.
std::optional<GateScores> score_base_for_gate(const TrainConfig& config, RunInputs& in,
                                              const TrainableState& trainable, const Ranking& ranking,
                                              const Say& say) {
  if (!config.forgetting_gate) return std::nullopt;
  if (trains_reward_model(config)) {
    say("forgetting gate: a reward model is read through its score head, not its language-model head; nothing to judge");
    return std::nullopt;
  }
  if (caches_classifier_features(trainable)) {
    say("forgetting gate: only the classification head trains, the language model stays the base; nothing to judge");
    return std::nullopt;
  }
  say("forgetting gate: scoring the base model on general text and questions" +
      std::string(ranking.eval_task ? " and eval_task" : ""));
  return score_for_gate(in.loaded, "base", ranking.eval_task ? &*ranking.eval_task : nullptr);
}

// The trained model on the same items, judged against the base; the verdict
// goes beside the outputs and into the run folder.
GateVerdict judge_run(const TrainConfig& config, RunInputs& in, const TrainableState& trained, const Ranking& ranking,
                      const GateScores& base, const std::string& output, bool writes, const Say& say) {
  in.loaded.adapter = borrowed_adapter(trained);
  const GateScores tuned = score_for_gate(in.loaded, "tuned", ranking.eval_task ? &*ranking.eval_task : nullptr,
                                          trained.classifier ? &trained.classifier->head : nullptr);
  in.loaded.adapter.reset();
  const GateVerdict verdict =
      judge_forgetting(base, tuned, {config.max_perplexity_rise, config.max_accuracy_drop});
  if (writes) write_gate_verdict(config.output_dir, verdict);
  if (writes && !output.empty()) write_gate_verdict(output, verdict);
  say(describe(verdict));
  return verdict;
}

// FNV-1a over what check_same_data compares.
class DataHash {
 public:
  void mix(int64_t v) { hash_ = (hash_ ^ uint64_t(v)) * 1099511628211ull; }
  void mix(const std::vector<int32_t>& ids) {
    mix(int64_t(ids.size()));
    for (int32_t id : ids) mix(id);
  }
  void mix(const std::string& text) {
    mix(int64_t(text.size()));
    for (const char c : text) mix(int64_t(c));
  }
  void mix(const TrainingSequence& s) {
    mix(s.ids);
    mix(s.targets);
    mix(s.label);
  }
  // A part of the data: its count, then each item's pieces.
  template <typename Item, typename Pieces>
  void mix(const std::vector<Item>& items, const Pieces& pieces) {
    mix(int64_t(items.size()));
    for (const Item& item : items) pieces(item);
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 1469598103934665603ull;
};

// A hash of everything a run trains and validates on: sequences (token ids,
// targets, labels), and the rl methods' pairs, labelled answers and prompts.
uint64_t hash_of_data(const RunInputs& in) {
  DataHash h;
  for (const std::vector<TrainingSequence>* part : {&in.data.train, &in.replay, &in.data.validation})
    h.mix(*part, [&h](const TrainingSequence& s) { h.mix(s); });
  for (const auto* part : {&in.pairs, &in.validation_pairs})
    h.mix(*part, [&h](const PreferenceSequences& p) {
      h.mix(p.chosen);
      h.mix(p.rejected);
    });
  for (const auto* part : {&in.kto, &in.validation_kto})
    h.mix(*part, [&h](const KtoSequences& e) {
      h.mix(e.answer);
      h.mix(e.mismatched);
      h.mix(e.desirable);
    });
  for (const auto* part : {&in.reward_pairs, &in.reward_validation})
    h.mix(*part, [&h](const RewardPair& p) {
      h.mix(p.chosen);
      h.mix(p.rejected);
      h.mix(std::bit_cast<int64_t>(p.margin));
    });
  // A prompt's whole line too: graders read its other fields (the expected answer).
  h.mix(in.prompts, [&h](const PromptItem& p) {
    h.mix(p.prompt);
    h.mix(p.item.dump());
  });
  return h.value();
}

// Every rank must have read the same data in the same order (the shards are
// positions in it): a rank on a machine whose files differ would otherwise train
// on other items without a word. Compared by count and hash_of_data.
void check_same_data(dist::Communicator& world, const RunInputs& in) {
  if (world.size() == 1) return;
  const std::array<uint64_t, 2> mine{uint64_t(in.train_items()), hash_of_data(in)};
  std::array<uint64_t, 2> first = mine;
  world.broadcast(std::as_writable_bytes(std::span(first)), 0);
  if (first != mine)
    fail("train", "rank {} read {} training items (data hash {:x}), rank 0 read {} (hash {:x}): every rank must read "
         "the same data (the same train_data, replay_data and val_data files and settings on every machine)",
         world.rank(), mine[0], mine[1], first[0], first[1]);
}

// Every rank starts from rank 0's values: the same seed already gives the same
// adapter, and this makes sure of it (a rank that read another checkpoint would
// otherwise train a different model without a word).
void start_alike(dist::Communicator& world, TrainableState& trainable, const TrainConfig& config, const Say& say) {
  if (world.size() == 1) return;
  for (const Parameter& p : trainable.parameters) {
    world.broadcast(std::as_writable_bytes(std::span<float>(p.value, size_t(p.numel))), 0);
    refresh_bf16_copy(p);
  }
  say(fmt::format("data-parallel: {} ranks × micro_batch_size {} × gradient_accumulation_steps {} = {} sequences "
                  "per step", world.size(), config.micro_batch_size, config.gradient_accumulation_steps,
                  int64_t(world.size()) * config.micro_batch_size * config.gradient_accumulation_steps));
}

// The ranks other than 0 take its gate verdict (whether it passed: what decides
// the exit code), so that every process of the job ends alike.
void hear_gate_verdict(dist::Communicator& world, std::optional<GateVerdict>& gate) {
  if (world.size() == 1) return;
  int32_t verdict = !gate ? 0 : gate->passed ? 1 : 2;  // none, passed, failed
  dist::broadcast_object(world, verdict, 0);
  if (world.rank() == 0) return;
  gate.reset();
  if (verdict != 0) gate.emplace().passed = verdict == 1;
}

// Everything after the config is resolved and the run folder made: set up, train, judge.
TrainRunResult train_and_judge(const TrainConfig& config, const TrainRunOptions& options, dist::Communicator& world,
                               const Ranking& ranking, RunInputs& in, const Say& say) {
  check_same_data(world, in);
  const Schedule schedule = plan_schedule(config, in.train_items(), world.size());
  const ResumePoint resume_point = options.resume ? find_resume_point(config, world) : ResumePoint{};
  Progress progress =
      options.resume ? resume(config, in, resume_point, world, say) : start(config, in, world, say);
  // Rank 0 alone judges forgetting; the other ranks hear its verdict.
  const bool judges = world.rank() == 0;
  const std::optional<GateScores> base_scores =
      judges ? score_base_for_gate(config, in, progress.learner.trainable, ranking, say) : std::nullopt;
  if (aligns(config) && !trains_reward_model(config) && !samples_online(config)) reference_pairs(in, config, world, say);
  if (options.resume) load_progress(resume_point, world, progress, say);
  start_alike(world, progress.learner.trainable, config, say);
  say(describe(progress.learner.trainable, schedule));
  TrainRunResult result = TrainingLoop(config, options, world, say, ranking, in, schedule, progress).run();
  if (base_scores && !result.interrupted)
    result.gate = judge_run(config, in, progress.learner.trainable, ranking, *base_scores, result.output, judges, say);
  if (!result.interrupted) hear_gate_verdict(world, result.gate);
  return result;
}

// run.json (train/run_record.h) says the run is going while `train` runs, and how
// it ended; rank 0's to write in a data-parallel run.
TrainRunResult recorded_run(const TrainConfig& config, const std::string& config_yaml, const TrainRunOptions& options,
                            bool writes, const std::function<TrainRunResult()>& train) {
  if (!writes) return train();
  RunRecord record(config, config_yaml, options.run_source, options.resume);
  TrainRunResult result;
  try {
    result = train();
  } catch (const std::exception& e) {
    record.finish("failed", e.what());
    throw;
  }
  record.finish(result.interrupted ? "interrupted" : "finished");
  return result;
}

}  // namespace

TrainRunResult run_training(const TrainConfig& given, const TrainRunOptions& options) {
  const Say say = options.on_message ? options.on_message : [](const std::string&) {};
  if (given.output_dir.empty()) fail("train", "output_dir is required");
  TrainConfig config = given;
  const std::unique_ptr<dist::Communicator> alone = options.world ? nullptr : dist::single_process();
  dist::Communicator& world = options.world ? *options.world : *alone;
  // The calling thread's OpenMP regions (whet tune's parallel trials each set their share of the cores).
  // Ranks share the machine's cores: one thread each unless threads or OMP_NUM_THREADS says otherwise.
  if (config.threads > 0)
    omp_set_num_threads(int(config.threads));
  else if (world.size() > 1 && !std::getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(1);
  const bool names_validation = !config.val_data.empty() || config.val_set_size > 0;
  warn_if_nothing_to_evaluate(config, names_validation, "no validation data (val_data, val_set_size)", say);
  const Ranking ranking = read_ranking(config, world);
  std::vector<AutoDecision> decisions;
  RunInputs in = load_model_and_data(config, say, options.learning_rate_scale, decisions);
  if (samples_online(config)) in.grader = load_run_grader(config, in.loaded, say);
  if (options.on_resolved) options.on_resolved(config, decisions);
  if (names_validation)
    warn_if_nothing_to_evaluate(config, in.has_validation(), "the validation data holds no usable example", say);
  const std::string config_yaml = dump_train_config(config);
  if (world.rank() == 0) {
    fs::create_directories(config.output_dir);
    write_file_atomic(config.output_dir + "/config.yaml", config_yaml);
  }
  return recorded_run(config, config_yaml, options, world.rank() == 0,
                      [&] { return train_and_judge(config, options, world, ranking, in, say); });
}

}  // namespace whet
