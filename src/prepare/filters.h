#pragma once
// Quality filters: each a pure measure of a text, and one function that says
// why a record fails, so the report can count records by reason.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/ledger.h"
#include "prepare/pipeline_config.h"
#include "prepare/token_counter.h"

namespace whet {

size_t visible_characters(std::string_view text);  // code points that are not white space
// Share of word trigrams that repeat an earlier trigram of the text; 0 under three words.
double repetition_ratio(std::string_view text);
// Share of the visible characters that are neither letters, marks nor digits.
double symbol_ratio(std::string_view text);

// Why the record fails the filters, or nothing. Record::tokens must be counted
// when the config bounds tokens.
std::optional<Reason> filter_reason(const Record& record, const FilterConfig& config, const std::string& label_field);

// The stage; counts tokens first when a counter is given.
void filter_stage(std::vector<Record>& records, const FilterConfig& config, const std::string& label_field,
                  const TokenCounter* counter, Ledger& ledger);

}  // namespace whet
