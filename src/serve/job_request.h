#pragma once
// POST /v1/fine_tuning/jobs as hosted fine-tuning APIs take it, and the
// training run it becomes. Hyperparameters are read in both of OpenAI's shapes
// (top-level "hyperparameters", or "method": {"type", "supervised" | "dpo":
// {"hyperparameters"}}) and normalised, so the job record states exactly what ran.
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "serve/job_store.h"
#include "train/train_config.h"

namespace whet::serve {

// Whether a job's method ("lora", "full", or an rl method: dpo, simpo, orpo,
// kto, reward, grpo) trains an adapter on the base (rl methods do, as
// `whet train --method dpo` does; a reward job's head sits beside its adapter).
inline bool trains_adapter(const std::string& method) { return method != "full"; }

// Throws ApiError (400) naming the field for anything missing, mistyped or out of range.
// `is_base` says whether a model name is a served base model; `file_exists` whether a file id is stored.
Job parse_job_request(std::string_view body, const std::function<bool(const std::string&)>& is_base,
                      const std::function<bool(const std::string&)>& file_exists);

// Throws ApiError (400 naming `param`) unless every line of the stored file at
// `path` (the client calls it `filename`) is what a `method` job trains on:
// supervised examples, preference pairs (kto: or labelled answers), or prompts (grpo).
void check_training_file(const std::string& path, const std::string& filename, const std::string& method,
                         const std::string& param);

// Reads the normalised hyperparameters {"n_epochs", "batch_size",
// "learning_rate_multiplier", "learning_rate", "lora_r", "lora_alpha",
// "max_steps", "save_steps", "sequence_len"} of a parsed request body or an
// inline training request into `job.hyperparameters`. Those not given (or
// "auto") stay "auto" (max_steps, save_steps and sequence_len take their
// defaults); the run decides them from the data as `whet train` does.
// `where` prefixes the parameter names in errors.
nlohmann::json normalise_hyperparameters(const nlohmann::json& given, const std::string& method, const std::string& where);

// The multiplier of an automatic learning rate (1 when auto).
double job_learning_rate_scale(const Job& job);

// Writes the values that run into the job's hyperparameters, as OpenAI reports
// n_epochs, batch_size and learning_rate_multiplier once a job has started.
void report_resolved_hyperparameters(Job& job, const TrainConfig& resolved);

struct JobPaths {
  std::string base_model, train_file, validation_file, output_dir;  // validation_file may be ""
};
TrainConfig job_train_config(const Job& job, const JobPaths& paths);

}  // namespace whet::serve
