#pragma once
// A sequence-classification head on a model (or a reward model's one-output
// head, whose one "label" names its score): its label names, pooling and
// fp32 weights, saved as DIR/classifier_config.json and
// DIR/classifier.safetensors ("score.weight", "score.bias", Hugging Face's names
// for the head of *ForSequenceClassification models), so a head can be
// inspected or carried to other tools.
#include <string>
#include <vector>

#include "kernels/classifier_head.h"
#include "models/llama_train.h"

namespace whet {

struct SequenceClassifier {
  std::vector<std::string> labels;  // index -> name
  Pooling pooling = Pooling::Last;
  int64_t hidden = 0;
  std::vector<float> weight, bias;  // (labels, hidden), (labels)

  int label_index(const std::string& name) const;  // -1 when not a label of this head
  // One output read as a score, not a label: a reward model's head (train/reward_step.h).
  bool scores() const { return labels.size() == 1; }
  // The kernel's view, for prediction (label -1) or for training with gradient buffers.
  ClassifierPass pass(int32_t label = -1, float* dweight = nullptr, float* dbias = nullptr) const;
};

// The label a reward model's one output is saved under (classifier_config.json).
inline constexpr const char* kRewardLabel = "reward";

// A reward model's score of one text's tokens (a prompt and its answer, whole)
// under the model with `lora` (null: none) and a one-output head.
double reward_score(const LlamaModel& model, const LlamaLora* lora, LlamaActivations& acts,
                    std::span<const int32_t> ids, const SequenceClassifier& head);

// Hugging Face's initialisation: weight normal with std 0.02 (seeded), bias zero.
SequenceClassifier make_sequence_classifier(std::vector<std::string> labels, Pooling pooling, int64_t hidden,
                                            uint64_t seed);

// Writes both files atomically. Errors when reading name the file and field.
void save_sequence_classifier(const SequenceClassifier& head, const std::string& dir);
SequenceClassifier load_sequence_classifier(const std::string& dir, int64_t hidden);

}  // namespace whet
