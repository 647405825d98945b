#pragma once
// Training data of a sequence-classification run (task_type seq_cls): labelled
// lines, {"prompt" or "messages", "label"}, read as evaluation tasks are, so
// `whet eval` scores the trained head on the same prompts. One example per
// sequence; the label set is the training files' labels.
#include <string>
#include <vector>

#include "data/sequences.h"
#include "models/model_loader.h"
#include "train/train_config.h"

namespace whet {

struct ClassificationData {
  std::vector<std::string> labels;  // sorted; a sequence's label is an index into these
  std::vector<TrainingSequence> train, validation;
  std::string summary;  // for the run log
};

// Errors name the file and line: a line that is not a labelled prompt, a
// validation label the training files lack, an example longer than sequence_len.
ClassificationData load_classification_data(const TrainConfig& config, const LoadedModel& model);

}  // namespace whet
