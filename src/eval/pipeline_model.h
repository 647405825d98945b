#pragma once
// The data pipeline's model calls (prepare/stage_model.h) bound to
// loaded models: replies by generation through the chat template, label
// probabilities from a classification head when the stage names one, else
// from each label's log-likelihood after the prompt, normalised over the labels.
#include "prepare/stage_model.h"
#include "eval/task.h"
#include "models/model_loader.h"

namespace whet {

// An opener that loads each model (with its adapter) once, however many stages
// name it, and keeps it for the opener's lifetime.
ModelOpener pipeline_model_opener(WeightFormat weights = WeightFormat::Native);

// The bound calls for an already loaded model; `model` must outlive them.
StageModel bind_stage_model(const LoadedModel& model, const std::string& classifier_dir = "");

// The item a record's input is, for scoring: its prompt, or its conversation
// up to (without) the last assistant turn.
TaskItem record_prompt_item(const Record& record);

}  // namespace whet
