#pragma once
// What a served model's production prompts are compared with: the prompts of
// the data its version was trained on, tokenized as the server tokenizes a
// request (a conversation through the chat template up to where the
// assistant's reply begins, raw text as it is). The data comes from
// `whet serve --drift-reference MODEL=FILE`, or from the run folder the
// adapter or model was written into (docs/training.md, "The run folder"),
// whose config.yaml names its training files.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/example.h"
#include "models/model_loader.h"

namespace whet::serve {

struct ReferenceSource {
  std::vector<std::string> files;          // JSONL in any training format
  DataFormat format = DataFormat::Auto;    // the run's data_format (prompt for a grpo run), else Auto
  std::string origin;                      // "--drift-reference" or the run's config.yaml
};

// The training data of the run that wrote `model_path` (an adapter folder, a
// model folder or a .gguf file): a run's config.yaml (the one `whet train`
// writes, "every key resolved") in the path's folder, its parent or its
// grandparent (OUTPUT/adapter, OUTPUT/model, OUTPUT/best/adapter). Relative
// data paths are resolved from the folder the run was started in, found by
// taking a relative output_dir off the run folder's path (else the server's
// working folder). nullopt when no run folder holds the path; whet::Error when
// one does but its config cannot be read.
std::optional<ReferenceSource> run_folder_training_data(const std::string& model_path);

// Prompts kept from a reference file at most (a seeded uniform sample of its
// lines beyond that), and the number of most frequent tokens that get a bucket
// of their own in the token distribution (the rest share "other"). Few
// buckets, because the JS divergence of two finite samples of one distribution
// grows with the buckets they spread over: with 1000, a window of 60 ticket
// messages read 0.21 against their own training set (docs/serve.md).
inline constexpr size_t kMaxReferencePrompts = 5000;
inline constexpr size_t kReferenceTopTokens = 100;

struct DriftReference {
  ReferenceSource source;
  size_t prompts = 0;                  // prompts profiled
  std::vector<double> length_counts;   // per prompt-length bin (eval/drift_stats.h)
  std::vector<int32_t> top_tokens;     // the most frequent token ids, most frequent first
  std::vector<double> token_counts;    // per top token, then "other"
  std::vector<std::vector<int32_t>> perplexity_sample;  // a seeded sample of the prompts, for the scorer
};

// Reads every line of the source's files (a malformed line is a whet::Error
// "[file:line] ..."; a file without prompts too) and profiles the prompts with
// `model`'s tokenizer and chat template. `perplexity_sample` prompts are kept,
// cut to their first `scored_tokens`, for the perplexity threshold.
DriftReference build_drift_reference(const ReferenceSource& source, const LoadedModel& model,
                                     size_t perplexity_sample, size_t scored_tokens);

}  // namespace whet::serve
