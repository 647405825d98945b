#include "prepare/filters.h"

#include <utf8proc.h>
#include <xxhash.h>

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/utf8.h"
#include "prepare/stages.h"

namespace whet {
namespace {

bool is_white(utf8proc_int32_t cp) {
  const utf8proc_category_t c = utf8proc_category(cp);
  return cp == '\t' || cp == '\n' || cp == '\r' || c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL ||
         c == UTF8PROC_CATEGORY_ZP;
}

// The fields that must not be (nearly) empty: all but a prompt and system turns.
std::vector<const std::string*> required_fields(const Record& record) {
  const Example& e = record.example;
  switch (e.format) {
    case DataFormat::Text: return {&e.text};
    case DataFormat::Completion: return {&e.completion};
    default: {
      std::vector<const std::string*> fields;
      for (const ChatMessage& m : e.messages)
        if (m.role != "system") fields.push_back(&m.content);
      return fields;
    }
  }
}

}  // namespace

size_t visible_characters(std::string_view text) {
  size_t n = 0;
  for (const CodePoint& c : code_points(text)) n += !is_white(c.value);
  return n;
}

double repetition_ratio(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= text.size(); ++i) {
    const bool space = i == text.size() || text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    if (space && start != std::string_view::npos) {
      words.push_back(text.substr(start, i - start));
      start = std::string_view::npos;
    } else if (!space && start == std::string_view::npos) {
      start = i;
    }
  }
  if (words.size() < 3) return 0;
  std::unordered_set<uint64_t> seen;
  size_t repeated = 0;
  for (size_t i = 0; i + 3 <= words.size(); ++i) {
    const std::string gram = std::string(words[i]) + ' ' + std::string(words[i + 1]) + ' ' + std::string(words[i + 2]);
    repeated += !seen.insert(XXH3_64bits(gram.data(), gram.size())).second;
  }
  return double(repeated) / double(words.size() - 2);
}

double symbol_ratio(std::string_view text) {
  size_t visible = 0, symbols = 0;
  for (const CodePoint& c : code_points(text)) {
    if (is_white(c.value)) continue;
    ++visible;
    const utf8proc_category_t category = utf8proc_category(c.value);
    const bool word = (category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_LO) ||
                      (category >= UTF8PROC_CATEGORY_MN && category <= UTF8PROC_CATEGORY_NO);
    symbols += !word;
  }
  return visible == 0 ? 0 : double(symbols) / double(visible);
}

std::optional<Reason> filter_reason(const Record& record, const FilterConfig& config, const std::string& label_field) {
  for (const std::string* field : required_fields(record))
    if (visible_characters(*field) < config.min_chars)
      return Reason{"empty or near-empty field", fmt::format("fewer than {} visible characters", config.min_chars)};
  if (config.min_tokens && record.tokens < config.min_tokens)
    return Reason{"too few tokens", fmt::format("{} < {}", record.tokens, config.min_tokens)};
  if (config.max_tokens && record.tokens > config.max_tokens)
    return Reason{"too many tokens", fmt::format("{} > {}", record.tokens, config.max_tokens)};
  const std::string content = record_content(record);
  if (config.max_repetition > 0) {
    const double r = repetition_ratio(content);
    if (r > config.max_repetition)
      return Reason{"repetitive", fmt::format("{:.2f} of word trigrams repeated > {}", r, config.max_repetition)};
  }
  if (config.max_symbol_ratio > 0) {
    const double r = symbol_ratio(content);
    if (r > config.max_symbol_ratio)
      return Reason{"mostly symbols", fmt::format("{:.2f} of characters are symbols > {}", r, config.max_symbol_ratio)};
  }
  if (!config.labels.empty()) {
    const std::string& label = label_of(record, label_field);
    if (std::find(config.labels.begin(), config.labels.end(), label) == config.labels.end())
      return Reason{"label not allowed", label.empty() ? "no label" : "'" + label.substr(0, 60) + "'"};
  }
  return std::nullopt;
}

void filter_stage(std::vector<Record>& records, const FilterConfig& config, const std::string& label_field,
                  const TokenCounter* counter, Ledger& ledger) {
  ledger.begin(stage_name(Stage::Filter), records.size());
  std::vector<Reason> reasons(records.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < records.size(); ++i) {
    try {
      if (counter) records[i].tokens = counter->count(records[i]);
      if (std::optional<Reason> why = filter_reason(records[i], config, label_field)) reasons[i] = std::move(*why);
    } catch (const Error& e) {
      reasons[i] = {"cannot be tokenized", e.what()};
    }
  }
  drop_marked(records, ledger, reasons);
  ledger.end(records.size());
}

}  // namespace whet
