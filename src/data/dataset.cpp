// The order of the stages matters: examples are split before they are packed (no
// example on both sides) and shuffled before packing (sequences mix sources).
#include "data/dataset.h"

#include <fmt/ranges.h>

#include "core/error.h"
#include "data/jsonl_reader.h"
#include "data/shuffle.h"

namespace whet {
namespace {

std::vector<TokenizedExample> tokenize_all(const std::vector<Example>& examples, const Tokenizer& tokenizer,
                                           const ChatTemplate& chat_template, const DataOptions& options,
                                           DataStats& stats) {
  std::vector<TokenizedExample> tokenized;
  tokenized.reserve(examples.size());
  for (const Example& example : examples) {
    try {
      tokenized.push_back(tokenize_example(example, tokenizer, chat_template, options.train_on_inputs));
      ++stats.examples[size_t(example.format)];
    } catch (const Error& e) {
      if (options.strict) throw;
      stats.skip(example.file, example.line, e);
    }
  }
  return tokenized;
}

std::vector<TokenizedExample> take(std::vector<TokenizedExample>& examples, const std::vector<size_t>& indices) {
  std::vector<TokenizedExample> taken;
  taken.reserve(indices.size());
  for (size_t i : indices) taken.push_back(std::move(examples[i]));
  return taken;
}

[[noreturn]] void nothing_to_train_on(const std::vector<std::string>& paths, const DataStats& stats) {
  fail(fmt::format("{}", fmt::join(paths, ", ")), "nothing to train on. {}", stats.summary());
}

}  // namespace

TokenizedDataset read_dataset(const std::vector<std::string>& train_paths,
                              const std::vector<std::string>& validation_paths, const Tokenizer& tokenizer,
                              const ChatTemplate& chat_template, const DataOptions& options) {
  if (!validation_paths.empty() && options.val_set_size > 0)
    fail("data", "give either a validation file or val_set_size, not both");
  if (train_paths.empty()) fail("data", "no training file");
  TokenizedDataset data;
  auto load = [&](const std::vector<std::string>& paths) {
    std::vector<TokenizedExample> examples;
    for (const std::string& path : paths) {
      std::vector<TokenizedExample> more =
          tokenize_all(read_examples(path, options, data.stats), tokenizer, chat_template, options, data.stats);
      examples.insert(examples.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    return examples;
  };
  std::vector<TokenizedExample> all = load(train_paths);
  if (all.empty()) nothing_to_train_on(train_paths, data.stats);
  if (validation_paths.empty()) {
    const ValidationSplit split = split_validation(all.size(), options.val_set_size, options.seed);
    data.validation = take(all, split.validation);
    data.train = take(all, split.train);
  } else {
    data.validation = load(validation_paths);
    data.train = take(all, shuffled_order(all.size(), options.seed));
  }
  return data;
}

Dataset pack_dataset(TokenizedDataset data, const std::vector<std::string>& train_paths, const DataOptions& options) {
  Dataset dataset;
  dataset.stats = std::move(data.stats);
  dataset.train = build_sequences(data.train, options, dataset.stats.train);
  dataset.validation = build_sequences(data.validation, options, dataset.stats.validation);
  if (dataset.train.empty()) nothing_to_train_on(train_paths, dataset.stats);
  return dataset;
}

Dataset load_dataset(const std::vector<std::string>& train_paths, const std::vector<std::string>& validation_paths,
                     const Tokenizer& tokenizer, const ChatTemplate& chat_template, const DataOptions& options) {
  return pack_dataset(read_dataset(train_paths, validation_paths, tokenizer, chat_template, options), train_paths,
                      options);
}

std::vector<TrainingSequence> sequences_from_jsonl_text(std::string_view text, const std::string& name,
                                                        const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                                                        const DataOptions& options, DataStats& stats) {
  DataOptions strict = options;
  strict.strict = true;  // a built-in file has no line to skip
  const std::vector<Example> examples = read_examples_in_text(text, name, strict, stats);
  std::vector<TokenizedExample> tokenized = tokenize_all(examples, tokenizer, chat_template, options, stats);
  const std::vector<size_t> order = shuffled_order(tokenized.size(), options.seed);
  return build_sequences(take(tokenized, order), options, stats.train);
}

}  // namespace whet
