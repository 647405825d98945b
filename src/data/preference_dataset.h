#pragma once
// Preference training data as one recipe, the sibling of load_dataset: JSONL
// files in, tokenized pairs (DPO and its family) or unpaired examples (KTO)
// out, split and shuffled by the seed, fitted to sequence_len, with an account
// of every line.
#include <string>
#include <vector>

#include "data/data_options.h"
#include "data/data_stats.h"
#include "data/tokenize_preference.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whet {

// One split after fitting to sequence_len.
struct PreferenceSplitStats {
  size_t offered = 0;        // pairs (or unpaired examples) before fitting
  size_t truncated = 0;      // the prompt cut from its left to fit
  size_t dropped_long = 0;   // too long: drop_long, or an answer alone leaves no room for the prompt
  size_t prompt_tokens = 0;  // of those kept; a pair's prompt counted once
  size_t answer_tokens = 0;  // of those kept, end markers included (both answers of a pair)
};

struct PreferenceStats : LineAccount {
  std::string unit = "pairs";             // what the splits hold: "pairs", or "examples" (KTO)
  size_t pairs = 0;                       // lines read and tokenized as pairs
  size_t desirable = 0, undesirable = 0;  // lines read and tokenized as unpaired examples
  PreferenceSplitStats train, validation;

  // One paragraph for the run log, e.g. "Preference data: 50 lines read (0 blank,
  // 2 skipped), 48 pairs. Training: 43 pairs, 1 truncated (...)"; lists the first few skipped lines.
  std::string summary() const;
};

template <typename Item>
struct PreferenceSplits {
  std::vector<Item> train, validation;
  PreferenceStats stats;
};
using PreferenceDataset = PreferenceSplits<TokenizedPair>;    // DPO and its family
using UnpairedDataset = PreferenceSplits<TokenizedUnpaired>;  // KTO

// Reads and tokenizes the preference files (and validation files, if any),
// holds out options.val_set_size of the pairs when there is no validation file
// (by line, so no pair is on both sides), shuffles the training pairs by
// options.seed and fits each pair to options.sequence_len (fit_prompt; with
// options.drop_long too long pairs are dropped, counted either way). Uses
// options.format (auto, preference or kto), strict, sequence_len, drop_long,
// seed and val_set_size. A KTO line has no pair: it is a malformed line here
// (skipped and listed, fatal with strict). Throws whet::Error on bad options,
// unreadable files, malformed lines with options.strict, and when no pair is
// left to train on.
PreferenceDataset load_preference_dataset(const std::vector<std::string>& train_paths,
                                          const std::vector<std::string>& validation_paths,
                                          const Tokenizer& tokenizer, const ChatTemplate& chat_template,
                                          const DataOptions& options);

// The same for KTO: unpaired lines, and each pair as two examples (chosen
// desirable, rejected undesirable; TRL unpairs a preference set so), the two
// on the same side of the validation split.
UnpairedDataset load_unpaired_dataset(const std::vector<std::string>& train_paths,
                                      const std::vector<std::string>& validation_paths, const Tokenizer& tokenizer,
                                      const ChatTemplate& chat_template, const DataOptions& options);

}  // namespace whet
