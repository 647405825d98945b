#pragma once
// Semi-supervised labelling: the records of `unlabelled` sources get the label
// a model finds most probable, when it is sure enough; the others are dropped
// with the probability they reached. Pseudo-labelled records are marked, carry
// their confidence into the output, and only ever train.
#include <set>
#include <string>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/stage_model.h"

namespace whet {

// Adds the labels people gave the records (not the pool, nor what a model made).
void collect_given_labels(const std::vector<Record>& records, const PipelineConfig& config, std::set<std::string>& labels);

// The labels to choose from: a classification head's own, else
// pseudo_label.labels, else filter.labels, else the labels given, sorted.
// Throws whet::Error naming the key when fewer than two.
std::vector<std::string> pseudo_label_choices(const std::set<std::string>& given, const PipelineConfig& config,
                                              const StageModel& model);

// Labels the pool among `records`; `given` are the labels of every labelled
// record read, which need not be among them.
void pseudo_label_stage(std::vector<Record>& records, const std::set<std::string>& given, const PipelineConfig& config,
                        const StageModel& model, Ledger& ledger, const StageProgress& progress);

}  // namespace whet
