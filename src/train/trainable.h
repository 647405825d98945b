#pragma once
// What a run trains, by method: a LoRA adapter over a frozen base, every base
// weight (full), or some of them (freeze). Holds the gradient buffers and the
// one Parameter list that the optimiser, clipping and checkpoints walk.
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

#include "data/sequences.h"
#include "models/llama_train.h"
#include "models/lora_adapter.h"
#include "models/model_loader.h"
#include "models/sequence_classifier.h"
#include "train/parameter.h"
#include "train/train_config.h"

namespace whet {

// A sequence-classification head trained with the run (task_type seq_cls): the
// head and its gradient buffers. The run owns it, so rebuilding the state (on
// resume or when gradual unfreezing releases a block) keeps what it learned.
struct ClassifierTraining {
  SequenceClassifier head;
  std::vector<float> dweight, dbias;
  // On a frozen base, each example's pooled hidden state, computed at its first use:
  // later epochs and evaluations train and score the head alone.
  std::unordered_map<const TrainingSequence*, std::vector<float>> features;
  explicit ClassifierTraining(SequenceClassifier h)
      : head(std::move(h)), dweight(head.weight.size(), 0.0f), dbias(head.bias.size(), 0.0f) {}
};

struct TrainableState {
  std::unique_ptr<LlamaLora> lora, lora_grads;  // method lora
  std::unique_ptr<LlamaWeights> grads;          // full / freeze: null data marks a frozen weight
  // full / freeze with weights bf16 (supervised): the model as the steps multiply it, every
  // matrix a bf16 copy (vectors are the masters' own); the optimiser updates the
  // f32 masters and rounds each trained one into its copy (Parameter::bf16_copy).
  // Null: the steps multiply the masters.
  std::unique_ptr<LlamaModel> compute;
  ClassifierTraining* classifier = nullptr;     // task_type seq_cls; not owned
  bool bf16_products = false;                   // TrainPass::bf16_products: supervised runs
  std::vector<Parameter> parameters;
  TrainPass pass() const;                       // the forward/backward's view of the above
};

// Whether a run's base trains as f32 masters multiplied as a bf16 copy: full or
// freeze with weights bf16, supervised (the rl steps measure log-probabilities
// against a reference computed on the masters, so they multiply the masters too).
bool multiplies_bf16_copy(const TrainConfig& config);
// Whether a run's frozen base is held as bf16 and laid out again for its input
// gradients' products (kernels/linear.h pack_for_input_gradients): supervised
// LoRA with weights bf16, on a CPU that multiplies bf16. Its matrices take twice their memory.
bool packs_frozen_base(const TrainConfig& config);
// The model a training step multiplies: the bf16 compute copy when there is one, else the masters.
const LlamaModel& compute_model(const TrainableState& state, const LlamaModel& masters);

// Weights that train are written in place, so every weight becomes fp32 in memory
// of its own (tensors already F32 in the file would otherwise stay mapped read-only).
void own_trainable_weights(LoadedModel& loaded);

// The first block that trains at the start of a freeze run (0 for the other methods).
int initial_first_trainable_block(const TrainConfig& config, const LlamaConfig& model);
// Gradual unfreezing: the first trainable block after `step` updates in `epoch`.
int first_trainable_block_at(const TrainConfig& config, const LlamaConfig& model, int64_t step, int64_t epoch);
// The block of a tensor named "blk.N.<...>" (a weight or a LoRA matrix); -1 for the rest.
int block_of(const std::string& name);
// Whether a base weight (GGUF name) trains in a freeze run whose first trainable block is given.
bool freeze_trains(const TrainConfig& config, const LlamaConfig& model, const std::string& name, int first_block);

// Builds the state for `config.method`; a LoRA adapter starts from PEFT's initialisation with config.seed.
// With a classifier, its weight and bias train too ("score.weight", "score.bias"),
// the LM head does not, and a base whose weights are all frozen gets no gradients
// at all (feature extraction: only the head learns).
TrainableState make_trainable(LoadedModel& model, const TrainConfig& config, int first_trainable_block,
                              ClassifierTraining* classifier = nullptr);
void zero_grads(const TrainableState& state);

}  // namespace whet
