#pragma once
// What the model-based stages (synthesis, pseudo-labelling, paraphrase) ask of
// a model. The pipeline receives these calls instead of models, so the data
// layer does not depend on the model code and its parsers build and run under
// AddressSanitizer without it; eval/pipeline_model binds them to loaded models.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "prepare/record.h"

namespace whet {

// A model a stage names in the pipeline YAML.
struct ModelRef {
  std::string path;        // GGUF file or Hugging Face directory
  std::string adapter;     // LoRA adapter (PEFT folder or GGUF LoRA); empty: none
  std::string classifier;  // pseudo-labelling: a classification head's folder; empty: label log-likelihoods
};

// One user turn for the model to answer through its chat template.
struct GenerationRequest {
  std::string user;
  int max_tokens = 128;
  double temperature = 0;  // 0: greedy
  uint64_t seed = 0;
};

// Called with (done, total) as a long call proceeds.
using StageProgress = std::function<void(size_t, size_t)>;

struct StageModel {
  // The model's reply to each request, in order; nullopt for a request that
  // does not fit the model's context (the stage counts it; one long record must
  // not end a run).
  std::function<std::vector<std::optional<std::string>>(const std::vector<GenerationRequest>&, const StageProgress&)>
      generate;
  // For each record's input (its prompt, or its conversation up to the last
  // assistant turn), the probability of each label; rows sum to 1. A record too
  // long for the model's context gets an empty row.
  std::function<std::vector<std::vector<double>>(const std::vector<const Record*>&, const std::vector<std::string>& labels,
                                                 const StageProgress&)>
      label_probabilities;
  // The labels a classification head was trained on; empty when labels are scored by likelihood.
  std::vector<std::string> head_labels;
};

// Loads (or returns the already loaded) model a stage names. Paths arrive
// resolved against the config's folder.
using ModelOpener = std::function<StageModel(const ModelRef&)>;

}  // namespace whet
