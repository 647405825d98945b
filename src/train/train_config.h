#pragma once
// One training run's settings, read from an Axolotl-style YAML file plus
// `--set key=value` overrides, and written back into the run folder so the run
// can be repeated exactly. Every key is declared once (in train_config.cpp); the
// parser, the dump, `--help-config` and the docs test all read that one table.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/example.h"  // DataFormat

namespace whet {

enum class TrainMethod { Full, Freeze, Lora };

// A key set to `auto` (in YAML, or not set at all) holds kAuto (an integer or
// the learning rate), an empty target list or no packing choice, until
// resolve_auto_settings (train/auto_settings.h) decides it from the data.
inline constexpr int kAuto = -1;
// gradient_checkpointing true: every block (however many the model has).
inline constexpr int kEveryBlock = 1 << 30;
enum class OptimizerKind { AdamW, Sgd };
enum class LrScheduler { Constant, Linear, Cosine };

struct TrainConfig {
  // Run
  std::string base_model;          // "models/llama-3.2-1b.gguf" or an HF directory; "" = the default model
  std::string output_dir;          // "runs/support-bot"; required
  TrainMethod method = TrainMethod::Lora;
  int seed = 42;
  std::string weights = "native";  // frozen base for lora/freeze: "native", "f32", "bf16" or "auto" (weight_format_from_name)
  int threads = 0;                 // 0 = all cores
  // Blocks whose activations the backward recomputes (the first ones): 0 (false)
  // to kEveryBlock (true); auto: the fewest that fit memory_budget_mib.
  int gradient_checkpointing = kAuto;
  int memory_budget_mib = kAuto;   // what the run may use; auto: a share of the machine's available memory
  std::string task_type = "causal_lm";  // or "seq_cls": a classification head on labelled lines
  std::string pooling = "last";         // seq_cls: "last" token's hidden state or "mean" over the tokens

  // Data
  std::vector<std::string> train_data;  // {"data/train.jsonl", "data/extra.jsonl"}; required
  std::vector<std::string> val_data;    // {"data/val.jsonl"}; empty = none
  double val_set_size = 0.0;            // 0.05 holds back 5% of train_data for validation
  DataFormat data_format = DataFormat::Auto;
  bool train_on_inputs = false;         // false: loss on answers only
  int sequence_len = 512;               // tokens per sequence, 2048
  std::optional<bool> sample_packing;  // none: auto
  bool drop_long = false;               // false: truncate examples longer than sequence_len
  bool strict = false;                  // true: a malformed example stops the run instead of being skipped

  // LoRA
  int lora_r = kAuto;
  int lora_alpha = kAuto;              // auto: 2 * lora_r
  double lora_dropout = 0.05;
  std::vector<std::string> lora_target_modules;  // short names, in q k v o gate up down order; empty: auto
  bool use_rslora = false;              // scale alpha/sqrt(r) instead of alpha/r
  std::string lora_model_dir;           // "runs/earlier/adapter": continue training that PEFT adapter; "" = a new one

  // Freezing (method freeze)
  bool freeze_embeddings = true;
  int freeze_first_n_blocks = -1;       // 20; -1 = unset
  int train_last_n_blocks = -1;         // 4; -1 = unset
  bool train_norms = true;
  bool train_lm_head = false;
  int gradual_unfreeze_every_steps = 0; // 100; 0 = off
  bool gradual_unfreeze_every_epoch = false;

  // Optimiser
  OptimizerKind optimizer = OptimizerKind::AdamW;
  double learning_rate = kAuto;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double momentum = 0.9;                // sgd only

  // Schedule
  LrScheduler lr_scheduler = LrScheduler::Cosine;
  int warmup_steps = 0;
  double warmup_ratio = 0.0;            // 0.03 warms up over the first 3% of steps

  // Loop
  int num_epochs = kAuto;
  int max_steps = -1;                   // 1000; -1 = from num_epochs
  int micro_batch_size = kAuto;
  int gradient_accumulation_steps = 1;
  double max_grad_norm = 1.0;           // 0 = no clipping

  // Evaluation and stopping
  int eval_steps = kAuto;               // 0 = once per epoch
  int early_stopping_patience = kAuto;  // 3 evaluations without improvement; 0 = off
  double early_stopping_min_delta = 0.0;
  std::string eval_task;                         // task file scored at every evaluation (docs/eval.md); empty: none
  std::string metric_for_best_model = "val_loss";  // or a metric of eval_task, e.g. accuracy, macro_f1

  // Forgetting defences
  std::optional<std::string> replay_data;  // "general" (built in) or "data/general.jsonl"; "" = none; unset: auto
  double replay_ratio = 0.25;           // replay sequences per task sequence
  double distill_weight = kAuto;        // 1.0; 0 = no distillation from the base
  double distill_temperature = 2.0;
  std::string distill_on = "replay";    // "replay", "task" or "all" tokens
  double ewc_lambda = 0.0;              // 0 = off
  std::string ewc_fisher = "empirical"; // or "exact"
  int ewc_samples = 32;                 // sequences of ewc_data the Fisher is averaged over
  std::string ewc_data = "general";     // the built-in replay corpus, or a JSONL path
  double l2sp_lambda = 0.0;             // 0 = off; methods full and freeze

  // Checkpoints
  int save_steps = 0;                   // 0 = at the end of each epoch only
  int save_total_limit = 2;             // checkpoints kept; 0 = all

  // Gate: general ability measured before and after training (eval/gate.h)
  bool forgetting_gate = true;
  double max_perplexity_rise = 0.10;    // general-text perplexity may rise by 10%
  double max_accuracy_drop = 0.05;      // general-question accuracy may fall by 5 points

  // Continual learning (train/continual.h)
  std::vector<std::string> task_sequence;       // {"a.jsonl", "b.jsonl"}: stages trained in turn, instead of train_data
  std::vector<std::string> task_sequence_eval;  // one task file per stage, scored after every stage
  std::string continual_strategy = "sequential";  // "sequential", "replay" or "progressive"

  // Preference alignment (train/preference_loss.h), trained on preference pairs
  std::string rl = "none";                 // "none" (supervised), "dpo", "simpo", "orpo", "kto", "reward" or "grpo"
  double rl_beta = kAuto;                  // β; auto: 0.1, or 0 (no KL) for grpo
  std::string dpo_loss_type = "sigmoid";   // "sigmoid", "robust", "hinge" or "ipo"
  double dpo_label_smoothing = 0.0;        // ε of sigmoid (cDPO), robust and simpo
  double simpo_gamma = 0.5;                // SimPO's target margin γ
  double orpo_alpha = 0.1;                 // λ, ORPO's weight of the odds-ratio term
  double rpo_alpha = kAuto;                // weight of the chosen answers' NLL beside DPO's term (RPO)
  double kto_desirable_weight = 1.0;       // KTO's λ_D
  double kto_undesirable_weight = 1.0;     // KTO's λ_U
  double chosen_logp_drop_warning = 5.0;   // nats below the reference that warn; 0: never
  double reward_center_coefficient = 0.0;  // rl reward: c of c·mean((r_c + r_r)²); 0: off, as TRL's default

  // GRPO (rl: grpo, train/grpo_step.h): online RL on prompts, scored by a grader
  int num_generations = 4;                 // G, completions sampled per prompt
  int max_completion_length = 64;          // tokens; a longer completion is cut
  double grpo_epsilon = 0.2;               // ε of the clipped ratio
  double rollout_temperature = 1.0;        // sampling temperature of the rollouts
  double rollout_top_p = 1.0;
  nlohmann::json grader = "";              // a grader object (eval/grader.h), or the path of a grader file; "": none
  double reward_target = 0.0;              // stop once the last kRewardTargetSteps steps' mean reward reaches it; 0: off

  bool operator==(const TrainConfig&) const = default;
};

// replay_data's word for no replay (an empty value means the same).
inline constexpr std::string_view kNoReplay = "none";

// Whether the run mixes replay data into training (replay_data decided and not none).
inline bool replays(const TrainConfig& c) { return c.replay_data && !c.replay_data->empty(); }

// Whether the run aligns the model to preferences (rl set): pairs, or a grader's scores for grpo.
inline bool aligns(const TrainConfig& c) { return c.rl != "none"; }
// Whether it trains a reward model on them (rl reward): a one-output head, no reference.
inline bool trains_reward_model(const TrainConfig& c) { return c.rl == "reward"; }
// Whether the run samples its own completions and learns from a grader (rl grpo) instead of reading pairs.
inline bool samples_online(const TrainConfig& c) { return c.rl == "grpo"; }
// reward_target is judged on the mean rollout reward of this many latest steps.
inline constexpr int kRewardTargetSteps = 5;

// Reads CONFIG.yaml, then applies each "key=value" override (the value is YAML,
// so "lora_target_modules=[q,v]" works). Errors are whet::Error naming
// "path:line" or "--set key", and the key.
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides);

// The same without a file: defaults plus overrides.
TrainConfig train_config_from_overrides(const std::vector<std::string>& overrides);

// Every key, as YAML that load_train_config reads back to an equal config.
std::string dump_train_config(const TrainConfig& config);

// One key as documented; docs/config.md and `whet train --help-config` show these.
struct TrainConfigKey {
  std::string_view name;
  std::string_view group;      // "Data", "LoRA", ...
  std::string type;            // "integer >= 1", "one of full, freeze, lora"
  std::string default_value;   // as written in YAML
  std::string_view help;
};
std::vector<TrainConfigKey> train_config_keys();

// All keys, grouped, with type, default and meaning: the text of `whet train --help-config`.
std::string train_config_help();

}  // namespace whet
