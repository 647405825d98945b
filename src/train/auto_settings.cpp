// Each rule is one function: the value for one key and why. The thresholds are
// named once below; docs/training.md ("Automatic settings") has the table and
// the measurements behind it.
#include "train/auto_settings.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/memory_estimate.h"
#include "models/model_loader.h"

namespace whet {
namespace {

// From this many examples the data is "large": packing on, rank 16, a gentler rate.
constexpr int64_t kLargeData = 2000;
// Small data gets epochs until every example has been seen about this often in all...
constexpr int64_t kMinExamplePasses = 100;
constexpr int kMaxEpochs = 10;
constexpr int kUsualEpochs = 3;
// ... and large data at most this many example passes (at least one epoch).
constexpr int64_t kMaxExamplePasses = 20000;
// About one example in kExamplesPerStepDivisor per step, within [1, kMaxExamplesPerStep].
constexpr int64_t kExamplesPerStepDivisor = 20;
constexpr int64_t kMaxExamplesPerStep = 16;
// Fewer example passes than kMinExamplePasses (epochs fixed by the user, or too
// few examples even at kMaxEpochs) raise lora's small-data rate in proportion, at
// most this many times: on ten facts, 3 epochs at 1e-3 learnt none of three, at
// 3e-3 all three.
constexpr double kMaxRateBoost = 3;
constexpr int kEvaluationsPerRun = 8;
// Scoring a validation pair costs two forwards, as much as a fifth of a training
// pair's work: pairs get fewer evaluations.
constexpr int kPairEvaluationsPerRun = 4;
constexpr int kPatience = 3;

struct Decision {
  std::string value, reason;
};

std::string examples_text(int64_t n) {
  return fmt::format("{} example{}", n, n == 1 ? "" : "s");
}

Decision packing(const TrainConfig& c, const DataShape& d) {
  if (c.task_type == "seq_cls") return {"false", "seq_cls reads one example per sequence"};
  if (aligns(c)) return {"false", "each answer of a pair is a sequence of its own"};
  if (d.examples < kLargeData)
    return {"false", fmt::format("{} (< {}): one example per sequence, so every step counts examples",
                                 examples_text(d.examples), kLargeData)};
  return {"true", fmt::format("{} (>= {}): short examples share sequences, fewer and fuller passes",
                              examples_text(d.examples), kLargeData)};
}

Decision rank(const DataShape& d) {
  if (d.examples < kLargeData)
    return {"8", fmt::format("{} (< {}): a small adapter is enough and overfits less", examples_text(d.examples),
                             kLargeData)};
  return {"16", fmt::format("{} (>= {}): room for more to learn", examples_text(d.examples), kLargeData)};
}

// Only the classification head learns: freeze with no block and no norm training.
bool head_only(const TrainConfig& c) {
  return c.task_type == "seq_cls" && c.method == TrainMethod::Freeze && c.train_last_n_blocks == 0 && !c.train_norms;
}

int decide_epochs(const TrainConfig& c, int64_t examples) {
  if (aligns(c)) return 1;
  if (examples * kUsualEpochs < kMinExamplePasses)
    return int(std::min<int64_t>(kMaxEpochs, (kMinExamplePasses + examples - 1) / examples));
  return int(std::clamp<int64_t>(kMaxExamplePasses / examples, 1, kUsualEpochs));
}

// Examples seen in all: examples times the epochs given or to be decided.
int64_t example_passes(const TrainConfig& c, const DataShape& d) {
  const int epochs = c.num_epochs == kAuto ? decide_epochs(c, d.examples) : c.num_epochs;
  return std::max<int64_t>(1, d.examples * epochs);
}

Decision learning_rate(const TrainConfig& c, const DataShape& d, double scale) {
  const bool large = d.examples >= kLargeData;
  double lr = 0;
  std::string why;
  if (head_only(c)) {
    lr = 1e-2, why = "only a new classification head learns";
  } else if (c.method == TrainMethod::Lora && large) {
    lr = 5e-4, why = "lora on large data: many steps, a gentler rate";
  } else if (c.method == TrainMethod::Lora) {
    const int64_t passes = example_passes(c, d);
    const double boost = std::clamp(double(kMinExamplePasses) / double(passes), 1.0, kMaxRateBoost);
    lr = 1e-3 * boost, why = "lora on small data: few steps must move the adapter";
    if (boost > 1)
      why += fmt::format("; {} example passes, under {}, so {:.3g} times 1e-3 (at most {})", passes,
                         kMinExamplePasses, boost, kMaxRateBoost);
  } else if (c.method == TrainMethod::Full) {
    lr = large ? 2e-5 : 5e-5, why = "full fine-tuning moves every weight: a small rate";
  } else {
    lr = 1e-4, why = "freeze trains whole blocks: between lora and full";
  }
  if (scale != 1.0) {
    why += fmt::format(", times the multiplier {}", scale);
    lr *= scale;
  }
  return {fmt::format("{}", lr), why};
}

Decision epochs(const TrainConfig& c, const DataShape& d) {
  const int e = decide_epochs(c, d.examples);
  std::string why;
  if (aligns(c)) {
    // Measured on examples/house-style: one pass of 132 pairs learnt the style
    // (29 of 30 unseen prompts); three passes of pure DPO collapsed. A reward
    // model separated the pairs by a margin of 14 within half the pass.
    why = fmt::format("{}: preference pairs, one pass", examples_text(d.examples));
  } else if (e > kUsualEpochs) {
    why = fmt::format("{}: about {} example passes to learn from (at most {} epochs)", examples_text(d.examples),
                      kMinExamplePasses, kMaxEpochs);
  } else if (e == kUsualEpochs) {
    why = fmt::format("{}: the usual {}", examples_text(d.examples), kUsualEpochs);
  } else {
    why = fmt::format("{}: at most {} example passes, no more than needed", examples_text(d.examples),
                      kMaxExamplePasses);
  }
  if (d.has_validation && e > 1) why += "; validation loss decides by early stopping";
  return {std::to_string(e), why};
}

int64_t examples_per_step(const DataShape& d) {
  return std::clamp<int64_t>(d.examples / kExamplesPerStepDivisor, 1, kMaxExamplesPerStep);
}

// Examples a packed sequence holds on average, at least 1.
int64_t examples_per_sequence(const TrainConfig& c, const DataShape& d) {
  if (!c.sample_packing.value_or(false) || d.examples == 0 || d.tokens == 0) return 1;
  return std::max<int64_t>(1, int64_t(c.sequence_len) * d.examples / d.tokens);
}

Decision batch(const TrainConfig& c, const DataShape& d) {
  const int64_t wanted = examples_per_step(d), per_sequence = examples_per_sequence(c, d);
  const int64_t sequences = std::max<int64_t>(1, (wanted + per_sequence - 1) / per_sequence);
  std::string why = fmt::format("{} per step, about one in {}, for {}", examples_text(wanted), kExamplesPerStepDivisor,
                                examples_text(d.examples));
  if (per_sequence > 1) why += fmt::format(", {} to a packed sequence", per_sequence);
  return {std::to_string(sequences), why};
}

// Optimiser steps of the run, as the trainer will count them (estimated for packing).
int64_t planned_steps(const TrainConfig& c, const DataShape& d) {
  if (c.max_steps > 0) return c.max_steps;
  const int64_t per_step =
      int64_t(c.micro_batch_size) * c.gradient_accumulation_steps * examples_per_sequence(c, d);
  return std::max<int64_t>(1, (d.examples + per_step - 1) / per_step) * c.num_epochs;
}

Decision eval_steps(const TrainConfig& c, const DataShape& d) {
  if (!d.has_validation) return {"0", "no validation data"};
  const int64_t steps = planned_steps(c, d);
  const int64_t every = std::max<int64_t>(1, steps / (aligns(c) ? kPairEvaluationsPerRun : kEvaluationsPerRun));
  return {std::to_string(every), fmt::format("about {} evaluations over {} steps", steps / every, steps)};
}

Decision patience(const DataShape& d) {
  if (!d.has_validation) return {"0", "no validation data to stop on"};
  return {std::to_string(kPatience),
          fmt::format("validation data: stop after {} evaluations without improvement, keep the best", kPatience)};
}

// Replay and distillation are on unless the run has no language-model head to
// defend: measured on examples/tickets, the pair keeps general-text perplexity
// at -1.7% where an undefended adapter raises it by 41% (docs/training.md).
constexpr std::string_view kReferenceDefends = "the preference loss holds the model to its reference";
// A reward model's language-model head is never read: there is nothing to defend.
constexpr std::string_view kScoreHeadOnly = "a reward model is read through its score head, not its language-model head";

Decision replay(const TrainConfig& c) {
  if (c.task_type == "seq_cls") return {std::string(kNoReplay), "seq_cls trains a classification head, not the language model"};
  if (trains_reward_model(c)) return {std::string(kNoReplay), std::string(kScoreHeadOnly)};
  if (aligns(c)) return {std::string(kNoReplay), std::string(kReferenceDefends)};
  return {"general", fmt::format("the built-in general corpus, {} of a sequence per task sequence, keeps the model "
                                 "practising what it knew", c.replay_ratio)};
}

Decision distillation(const TrainConfig& c) {
  if (c.task_type == "seq_cls") return {"0", "seq_cls trains a classification head, not the language model"};
  if (trains_reward_model(c)) return {"0", std::string(kScoreHeadOnly)};
  if (aligns(c)) return {"0", std::string(kReferenceDefends)};
  if (c.method != TrainMethod::Lora) return {"0", "the teacher is the base with the adapter off: lora only"};
  if (c.distill_on != "task" && !replays(c)) return {"0", "no replay tokens to distil on"};
  return {"1", fmt::format("the base (the adapter off, no second copy) teaches on {} tokens, so they keep its "
                           "predictions", c.distill_on)};
}

// DPO alone can win its margin by making both answers unlikely: on the
// house-style pairs it learnt to answer nothing at 1e-3 and never signed off
// at 1e-4 (docs/training.md); the chosen answers' own loss keeps them likely.
Decision rpo(const TrainConfig& c) {
  return {"1", "dpo with the chosen answers' loss (RPO) keeps them likely while the margin grows"};
}

// The budget's share of the memory available when the run starts: the rest is
// left to the page cache, the allocator's slack and whatever else runs.
constexpr double kBudgetShareOfAvailable = 0.8;
// Without a reading of the available memory (not Linux): a budget as for a small machine.
constexpr int kBudgetWithoutReadingMib = 8192;
constexpr int64_t kMib = 1 << 20;

Decision memory_budget(const MemoryShape& m) {
  if (m.available_bytes <= 0)
    return {std::to_string(kBudgetWithoutReadingMib), "the available memory could not be read"};
  const int64_t mib = std::max<int64_t>(1, int64_t(kBudgetShareOfAvailable * double(m.available_bytes)) / kMib);
  return {std::to_string(mib), fmt::format("{:.0f}% of the {} MiB available", 100 * kBudgetShareOfAvailable,
                                           m.available_bytes / kMib)};
}

std::string mib(int64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / double(kMib)); }

// The estimate of one training sequence's memory, checkpointing the fewest blocks that fit the budget.
Decision checkpointing(const TrainConfig& c, const MemoryShape& m) {
  if (!m.model) return {"false", "no model to size"};
  const LlamaConfig& model = *m.model;
  const int rank = c.method == TrainMethod::Lora ? c.lora_r : 0;
  // Trainable state: gradients and two AdamW moments in fp32 (LoRA: the adapter's own fp32 values too);
  // freeze is counted as full, at most.
  const int64_t state = rank > 0 ? 16 * lora_parameter_count(model, rank) : 12 * llama_parameter_count(model);
  const int64_t other = m.weight_bytes + state;
  // A reward model's sequences are one token longer (the end marker it scores).
  const int64_t seq = c.sequence_len + (trains_reward_model(c) ? 1 : 0);
  const int64_t budget = int64_t(c.memory_budget_mib) * kMib;
  const CheckpointPlan plan = plan_checkpointing(model, seq, rank, m.head_decoded, other, budget);
  const std::string parts = fmt::format("weights {}, trainable state {}, activations of a {}-token sequence {}",
                                        mib(m.weight_bytes), mib(state), seq, mib(plan.activation_bytes));
  if (plan.blocks == 0)
    return {"false", fmt::format("the estimate, {}, fits memory_budget_mib {} ({})", mib(other + plan.activation_bytes),
                                 c.memory_budget_mib, parts)};
  const std::string value = plan.blocks == model.num_layers ? "true" : std::to_string(plan.blocks);
  if (!plan.fits)
    return {value, fmt::format("even with every block checkpointed the estimate, {}, exceeds memory_budget_mib {} ({}); "
                               "a shorter sequence_len or a larger budget would fit",
                               mib(other + plan.activation_bytes), c.memory_budget_mib, parts)};
  return {value, fmt::format("the first {} of {} blocks recompute their activations so the estimate, {}, fits "
                             "memory_budget_mib {} ({})", plan.blocks, model.num_layers,
                             mib(other + plan.activation_bytes), c.memory_budget_mib, parts)};
}

}  // namespace

std::vector<AutoDecision> resolve_weight_settings(TrainConfig& c) {
  if (c.weights != "auto") return {};
  if (c.method != TrainMethod::Lora && aligns(c)) {
    c.weights = "f32";
    return {{"weights", c.weights, "rl on a base that trains multiplies its f32 masters, as its reference did"}};
  }
  c.weights = std::string(weight_format_name(fastest_weight_format()));
  const bool bf16 = c.weights == "bf16";
  if (c.method != TrainMethod::Lora)
    return {{"weights", c.weights,
             bf16 ? "the base trains as f32 masters, multiplied as a bf16 copy: the CPU multiplies bf16 in hardware "
                    "(AMX or AVX512_BF16); its validation loss ended within 0.002 of f32's (docs/training.md)"
                  : "the base trains in f32: the CPU has no bf16 units"}};
  return {{"weights", c.weights,
           bf16 ? "the CPU multiplies bf16 in hardware (AMX or AVX512_BF16): faster than f32 there"
                : "the CPU has no bf16 units: f32 computes fastest"}};
}

std::vector<AutoDecision> resolve_memory_settings(TrainConfig& c, const MemoryShape& m) {
  std::vector<AutoDecision> decisions;
  if (c.memory_budget_mib == kAuto) {
    const Decision made = memory_budget(m);
    c.memory_budget_mib = std::stoi(made.value);
    decisions.push_back({"memory_budget_mib", made.value, made.reason});
  }
  if (c.gradient_checkpointing == kAuto) {
    const Decision made = checkpointing(c, m);
    c.gradient_checkpointing = made.value == "true" ? kEveryBlock : made.value == "false" ? 0 : std::stoi(made.value);
    decisions.push_back({"gradient_checkpointing", made.value, made.reason});
  }
  return decisions;
}

std::vector<AutoDecision> resolve_auto_settings(TrainConfig& c, const DataShape& d, double learning_rate_scale) {
  std::vector<AutoDecision> decisions;
  auto decide = [&](const char* key, bool is_auto, const auto& rule, const auto& apply) {
    if (!is_auto) return;
    const Decision made = rule();
    apply(made.value);
    decisions.push_back({key, made.value, made.reason});
  };
  auto set_int = [](int& field) { return [&field](const std::string& v) { field = std::stoi(v); }; };
  decide("sample_packing", !c.sample_packing, [&] { return packing(c, d); },
         [&](const std::string& v) { c.sample_packing = v == "true"; });
  decide("lora_r", c.lora_r == kAuto, [&] { return rank(d); }, set_int(c.lora_r));
  decide("lora_alpha", c.lora_alpha == kAuto,
         [&] { return Decision{std::to_string(2 * c.lora_r), "twice lora_r, an update scale of 2"}; },
         set_int(c.lora_alpha));
  decide("lora_target_modules", c.lora_target_modules.empty(),
         [&] { return Decision{"all-linear", "every projection learns: q and v alone did not learn ten facts"}; },
         [&](const std::string&) { c.lora_target_modules = {"q", "k", "v", "o", "gate", "up", "down"}; });
  decide("learning_rate", c.learning_rate == kAuto, [&] { return learning_rate(c, d, learning_rate_scale); },
         [&](const std::string& v) { c.learning_rate = std::stod(v); });
  decide("num_epochs", c.num_epochs == kAuto, [&] { return epochs(c, d); }, set_int(c.num_epochs));
  decide("micro_batch_size", c.micro_batch_size == kAuto, [&] { return batch(c, d); }, set_int(c.micro_batch_size));
  decide("eval_steps", c.eval_steps == kAuto, [&] { return eval_steps(c, d); }, set_int(c.eval_steps));
  decide("early_stopping_patience", c.early_stopping_patience == kAuto, [&] { return patience(d); },
         set_int(c.early_stopping_patience));
  // β of the pair methods is TRL's 0.1, a default rather than a decision; grpo's is decided and said.
  if (c.rl_beta == kAuto && !samples_online(c)) c.rl_beta = 0.1;
  decide("rl_beta", c.rl_beta == kAuto,
         [&] { return Decision{"0", "grpo without a KL term, TRL's default: one step per rollout keeps the policy near"}; },
         [&](const std::string& v) { c.rl_beta = std::stod(v); });
  // Read by dpo alone: nothing to decide or say for the rest.
  if (c.rpo_alpha == kAuto && c.rl != "dpo") c.rpo_alpha = 0;
  decide("rpo_alpha", c.rpo_alpha == kAuto, [&] { return rpo(c); },
         [&](const std::string& v) { c.rpo_alpha = std::stod(v); });
  decide("replay_data", !c.replay_data, [&] { return replay(c); },
         [&](const std::string& v) { c.replay_data = v == kNoReplay ? "" : v; });
  decide("distill_weight", c.distill_weight == kAuto, [&] { return distillation(c); },
         [&](const std::string& v) { c.distill_weight = std::stod(v); });
  return decisions;
}

std::vector<std::string> auto_keys(const TrainConfig& config) {
  // The keys the rules would decide, on any data.
  TrainConfig copy = config;
  std::vector<std::string> keys;
  for (AutoDecision& d : resolve_weight_settings(copy)) keys.push_back(std::move(d.key));
  for (AutoDecision& d : resolve_auto_settings(copy, DataShape{1, 1, false})) keys.push_back(std::move(d.key));
  for (AutoDecision& d : resolve_memory_settings(copy, MemoryShape{})) keys.push_back(std::move(d.key));
  return keys;
}

std::vector<std::string> describe_decisions(const std::vector<AutoDecision>& decisions) {
  std::vector<std::string> lines;
  for (const AutoDecision& d : decisions) lines.push_back(fmt::format("auto: {} {} ({})", d.key, d.value, d.reason));
  return lines;
}

}  // namespace whet
