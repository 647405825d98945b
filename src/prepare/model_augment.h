#pragma once
// Model-based augmentation (opt-in, after the template and noise copies):
// copies of training records whose input the model rephrased, and copies whose
// input is a question the model wrote for the record's answer. Targets are
// never changed. A reply that is empty or repeats the input makes no copy, and
// is counted.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/stage_model.h"

namespace whet {

// A model's reply as text to train on: white space normalised, wrapping quotes
// and a leading "Question:"-style label removed; with first_line, only its
// first non-empty line.
std::string clean_reply(std::string_view reply, bool first_line);

// What the model is asked.
std::string paraphrase_request(std::string_view input);
std::string question_request(std::string_view answer);

void model_augment_stage(std::vector<Record>& train, const AugmentConfig& config, uint64_t seed,
                         const StageModel& model, Ledger& ledger, const StageProgress& progress);

}  // namespace whet
