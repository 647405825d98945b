#pragma once
// The data pipeline as one recipe: JSONL files in, training and validation
// sequences out, with an account of every line for the run summary.
#include <string>
#include <string_view>
#include <vector>

#include "data/data_options.h"
#include "data/data_stats.h"
#include "data/sequences.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

struct Dataset {
  std::vector<TrainingSequence> train, validation;
  DataStats stats;
};

// The examples as read, tokenized, split and shuffled, before packing: what
// automatic settings look at before they decide how to pack.
struct TokenizedDataset {
  std::vector<TokenizedExample> train, validation;
  DataStats stats;
};

// The first half of load_dataset: everything but building the sequences.
TokenizedDataset read_dataset(const std::vector<std::string>& train_paths,
                              const std::vector<std::string>& validation_paths, const Tokenizer& tokenizer,
                              const ChatTemplate& chat_template, const DataOptions& options);

// The second half: the sequences (options.sequence_len, sample_packing, drop_long).
Dataset pack_dataset(TokenizedDataset data, const std::vector<std::string>& train_paths, const DataOptions& options);

// Reads and tokenizes the training files (and validation files, if any), holds
// out options.val_set_size of the training examples when there is no validation
// file (split by example, before packing, so no example is in both), shuffles
// the training examples by options.seed and builds the sequences. Pass
// ChatTemplate::by_name("alpaca") when the model has no template of its own.
// Throws whet::Error on bad options, unreadable files, malformed lines with
// options.strict, and when nothing is left to train on.
Dataset load_dataset(const std::vector<std::string>& train_paths, const std::vector<std::string>& validation_paths,
                     const Tokenizer& tokenizer, const ChatTemplate& chat_template, const DataOptions& options);

// The training sequences of JSONL text already in memory (a file built into the
// binary), named `name` in messages and counted in stats: each line read,
// tokenized, shuffled and packed as load_dataset does (no validation split).
std::vector<TrainingSequence> sequences_from_jsonl_text(std::string_view text, const std::string& name,
                                                        const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                                                        const DataOptions& options, DataStats& stats);

}  // namespace whet
