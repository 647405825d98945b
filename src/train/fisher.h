#pragma once
// EWC's diagonal Fisher information, estimated on general text before a run
// trains, and kept in the run folder (ewc.safetensors) with θ*, the values it
// was estimated at, so a resumed run reuses it instead of estimating it again
// at weights that have moved.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/sequences.h"
#include "models/model_loader.h"
#include "train/anchor_penalty.h"
#include "train/train_config.h"
#include "train/trainable.h"

namespace whet {

// The general text the Fisher is estimated on: `source` names a file built into
// the binary (src/eval/builtin_files.h, e.g. tasks/general/text.jsonl) or a
// JSONL file of any training format. One example per sequence (no packing), the
// loss on every token, truncated to sequence_len; the first `samples` of them
// in file order (all, when there are fewer).
std::vector<TrainingSequence> fisher_sequences(const std::string& source, int samples, const LoadedModel& loaded,
                                               int sequence_len);

// The diagonal Fisher of state.parameters at their current values: the mean over
// sequences of g², g the gradient of that sequence's mean next-token loss
// (without dropout). empirical: the loss of the data's own next tokens; exact:
// of targets drawn from the model's own next-token distribution at each
// position, seeded by `seed` (the true Fisher, one label sample per position).
// One vector per parameter, in state.parameters' order. Uses and zeroes the state's gradients.
std::vector<std::vector<float>> estimate_fisher(const LoadedModel& loaded, const TrainableState& state,
                                                std::span<const TrainingSequence> sequences, bool exact,
                                                uint64_t seed);

// ewc.safetensors: "fisher.<parameter>" and "anchor.<parameter>" per parameter,
// and how the Fisher was made as metadata (fisher, samples, data).
void save_ewc_file(const std::string& path, const AnchorPenalty& ewc, const std::map<std::string, std::string>& about);
// Reads the Fisher and θ* of every parameter; errors name the file and the tensor.
AnchorPenalty load_ewc_file(const std::string& path, const std::vector<Parameter>& parameters, double lambda);

// The run's EWC penalty (off when ewc_lambda is 0): on resume, read from
// output_dir/ewc.safetensors when it is there; otherwise estimated now, at the
// state's current values (before any update or checkpoint reaches them), and written there.
AnchorPenalty ewc_penalty_for_run(const TrainConfig& config, const LoadedModel& loaded, const TrainableState& state,
                                  bool resume, const std::function<void(const std::string&)>& say);

}  // namespace whet
