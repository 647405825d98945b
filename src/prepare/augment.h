#pragma once
// Augmentation (opt-in): extra training records made from the training split
// by noise on the model's inputs (character and word dropout, swaps of
// neighbours, case flips) and by prompt templates. Targets are never changed:
// noise there would teach wrong answers. Each copy is marked in the trace with
// the record it came from.
//
// Model-based paraphrase or question generation belongs here too, as another
// step of augment_stage that rewrites input_fields(copy); it is not built.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"

namespace whet {

// Each code point independently: dropped with probability char_dropout, else
// swapped with the next with probability swap, else case-flipped with
// probability case_flip.
std::string character_noise(std::string_view text, double char_dropout, double swap, double case_flip,
                            std::mt19937_64& rng);
// Each space-separated word dropped with probability p; at least one word stays.
std::string word_dropout(std::string_view text, double p, std::mt19937_64& rng);
// The template with every {prompt} replaced by the prompt.
std::string apply_template(std::string_view pattern, std::string_view prompt);

// Appends config.copies augmented copies of each record that has inputs.
void augment_stage(std::vector<Record>& train, const AugmentConfig& config, uint64_t seed, Ledger& ledger);

}  // namespace whet
