// The stages in load_dataset's order: lines read and tokenized (a line that
// fails either is skipped with its reason), split by line before anything is
// dropped for length (so the split does not depend on sequence_len), shuffled,
// then fitted to sequence_len per split, counted.
#include "data/preference_dataset.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "data/jsonl_reader.h"
#include "data/shuffle.h"

namespace whet {
namespace {

// A line's items: one pair, or for KTO one or two unpaired examples.
template <typename Item>
using Convert = std::function<std::vector<Item>(PreferenceLine&& line)>;

template <typename Item>
using Groups = std::vector<std::vector<Item>>;

size_t longest_answer(const TokenizedPair& p) { return std::max(p.chosen.size(), p.rejected.size()); }
size_t longest_answer(const TokenizedUnpaired& u) { return u.completion.size(); }
size_t answer_tokens(const TokenizedPair& p) { return p.chosen.size() + p.rejected.size(); }
size_t answer_tokens(const TokenizedUnpaired& u) { return u.completion.size(); }

template <typename Item>
Groups<Item> read_all(const std::vector<std::string>& paths, const DataOptions& options, PreferenceStats& stats,
                      const Convert<Item>& convert) {
  Groups<Item> groups;
  for (const std::string& path : paths)
    read_jsonl_records(path, options.strict, stats, [&](std::string_view line, size_t number) {
      groups.push_back(convert(parse_preference_line(line, options.format, path, number)));
    });
  return groups;
}

template <typename Item>
std::vector<Item> flatten(Groups<Item>& groups, const std::vector<size_t>& order) {
  std::vector<Item> items;
  for (size_t i : order)
    for (Item& item : groups[i]) items.push_back(std::move(item));
  return items;
}

std::vector<size_t> in_order(size_t count) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t(0));
  return order;
}

template <typename Item>
std::vector<Item> fit_all(std::vector<Item> items, const DataOptions& options, int32_t bos_id,
                          PreferenceSplitStats& stats) {
  std::vector<Item> kept;
  for (Item& item : items) {
    ++stats.offered;
    const LengthFit fit = fit_prompt(item.prompt, longest_answer(item), options.sequence_len, options.drop_long, bos_id);
    if (fit == LengthFit::Dropped) {
      ++stats.dropped_long;
      continue;
    }
    stats.truncated += fit == LengthFit::Truncated;
    stats.prompt_tokens += item.prompt.size();
    stats.answer_tokens += answer_tokens(item);
    kept.push_back(std::move(item));
  }
  return kept;
}

void check_options(const std::vector<std::string>& train_paths, const std::vector<std::string>& validation_paths,
                   const DataOptions& options) {
  if (!validation_paths.empty() && options.val_set_size > 0)
    fail("data", "give either a validation file or val_set_size, not both");
  if (train_paths.empty()) fail("data", "no training file");
  if (options.sequence_len < 1) fail("data", "sequence_len must be at least 1, not {}", options.sequence_len);
  if (options.format != DataFormat::Auto && !is_preference_format(options.format))
    fail("data", "data_format {} is not preference data: use auto, preference or kto",
         data_format_name(options.format));
}

[[noreturn]] void nothing_to_train_on(const std::vector<std::string>& paths, const PreferenceStats& stats) {
  fail(fmt::format("{}", fmt::join(paths, ", ")), "nothing to train on. {}", stats.summary());
}

// Fills `dataset`, whose stats `convert` counts into as it reads.
template <typename Item>
void load(const std::vector<std::string>& train_paths, const std::vector<std::string>& validation_paths,
          const Tokenizer& tokenizer, const DataOptions& options, const Convert<Item>& convert,
          PreferenceSplits<Item>& dataset) {
  check_options(train_paths, validation_paths, options);
  PreferenceStats& stats = dataset.stats;
  Groups<Item> all = read_all(train_paths, options, stats, convert);
  if (all.empty()) nothing_to_train_on(train_paths, stats);
  std::vector<Item> train, validation;
  if (validation_paths.empty()) {
    const ValidationSplit split = split_validation(all.size(), options.val_set_size, options.seed);
    validation = flatten(all, split.validation);
    train = flatten(all, split.train);
  } else {
    Groups<Item> held_out = read_all(validation_paths, options, stats, convert);
    validation = flatten(held_out, in_order(held_out.size()));
    train = flatten(all, in_order(all.size()));
  }
  // Shuffled as items, so that the two halves of a pair unpaired for KTO part too.
  std::vector<Item> shuffled;
  for (size_t i : shuffled_order(train.size(), options.seed)) shuffled.push_back(std::move(train[i]));
  const int32_t bos_id = tokenizer.spec().bos_id;
  dataset.train = fit_all(std::move(shuffled), options, bos_id, stats.train);
  dataset.validation = fit_all(std::move(validation), options, bos_id, stats.validation);
  if (dataset.train.empty()) nothing_to_train_on(train_paths, stats);
}

std::string describe(std::string_view split, std::string_view unit, const PreferenceSplitStats& s) {
  return fmt::format(
      "{}: {} {}, {} truncated (the prompt cut from its start to fit sequence_len), {} dropped as too long; "
      "{} prompt tokens, {} answer tokens.",
      split, s.offered - s.dropped_long, unit, s.truncated, s.dropped_long, s.prompt_tokens, s.answer_tokens);
}

}  // namespace

std::string PreferenceStats::summary() const {
  std::string read;
  if (pairs > 0) read += fmt::format(", {} pairs", pairs);
  if (desirable + undesirable > 0)
    read += fmt::format(", {} unpaired examples ({} desirable, {} undesirable)", desirable + undesirable, desirable,
                        undesirable);
  std::string out = fmt::format("Preference data: {} lines read ({} blank, {} skipped){}. ", lines, blank_lines,
                                skipped.size(), read.empty() ? ", nothing usable" : read);
  out += describe("Training", unit, train);
  if (validation.offered > 0) out += " " + describe("Validation", unit, validation);
  return out + skipped_summary();
}

PreferenceDataset load_preference_dataset(const std::vector<std::string>& train_paths,
                                          const std::vector<std::string>& validation_paths,
                                          const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                                          const DataOptions& options) {
  if (options.format == DataFormat::Kto)
    fail("data", "data_format kto holds unpaired examples; this method trains on pairs (data_format preference)");
  PreferenceDataset dataset;
  const Convert<TokenizedPair> convert = [&](PreferenceLine&& line) {
    const auto* pair = std::get_if<PreferenceExample>(&line);
    if (!pair) {
      const auto& unpaired = std::get<UnpairedExample>(line);
      fail(unpaired.where(), "format kto: one completion with a true/false label, no pair to compare; "
                             "this method trains on chosen and rejected answers");
    }
    std::vector<TokenizedPair> items{tokenize_pair(*pair, tokenizer, chat_template)};
    ++dataset.stats.pairs;
    return items;
  };
  load(train_paths, validation_paths, tokenizer, options, convert, dataset);
  return dataset;
}

UnpairedDataset load_unpaired_dataset(const std::vector<std::string>& train_paths,
                                      const std::vector<std::string>& validation_paths, const Tokenizer& tokenizer,
                                      const ChatTemplate& chat_template, const DataOptions& options) {
  UnpairedDataset dataset;
  dataset.stats.unit = "examples";
  const Convert<TokenizedUnpaired> convert = [&](PreferenceLine&& line) {
    std::vector<TokenizedUnpaired> items;
    if (const auto* example = std::get_if<UnpairedExample>(&line)) {
      items.push_back(tokenize_unpaired(*example, tokenizer, chat_template));
      ++(example->desirable ? dataset.stats.desirable : dataset.stats.undesirable);
      return items;
    }
    const auto& pair = std::get<PreferenceExample>(line);
    for (const auto& [answer, desirable] : {std::pair{&pair.chosen, true}, {&pair.rejected, false}})
      items.push_back(tokenize_unpaired(UnpairedExample{pair.file, pair.line, pair.prompt, *answer, desirable},
                                        tokenizer, chat_template));
    ++dataset.stats.pairs;
    return items;
  };
  load(train_paths, validation_paths, tokenizer, options, convert, dataset);
  return dataset;
}

}  // namespace whet
